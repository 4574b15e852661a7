/**
 * The room server a control plane started is recorded in a pid file in the data folder, so a
 * control plane killed without a chance to stop it (SIGKILL, a crash, a power cut) does not leave
 * it running, holding its port, for ever: the next start stops it (and removes its private
 * folder) before starting its own. Replaced rather than adopted: the new process then owns a
 * child it can stop, with the secret it derived itself. A pid is only signalled while it is still
 * that room server (a recycled pid is left alone).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface RoomServerRecord {
  /** partykit's node process, leader of its own process group (workerd, esbuild). */
  pid: number;
  port: number;
  /** Its private config folder (holds the room secret). */
  dir: string;
}

export function writeRecord(file: string, record: RoomServerRecord): void {
  writeFileSync(file, JSON.stringify(record), { mode: 0o600 });
}

export function removeRecord(file: string): void {
  rmSync(file, { force: true });
}

function readRecord(file: string): RoomServerRecord | null {
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as Partial<RoomServerRecord>;
    if (!Number.isSafeInteger(r.pid) || r.pid! <= 1 || typeof r.dir !== "string") return null;
    return { pid: r.pid!, port: Number(r.port), dir: r.dir };
  } catch {
    return null;
  }
}

/** Stop whatever the recorded room server left running; resolves once it is gone. */
export async function stopLeftover(file: string, log?: (line: string) => void): Promise<void> {
  const record = readRecord(file);
  if (!record) return removeRecord(file);
  const members = () => groupMembers(record.pid).filter(isRoomProcess);
  if (members().length > 0) {
    log?.(`stopping the room server a previous run left behind (pid ${record.pid}, port ${record.port})`);
    signal(record.pid, "SIGTERM");
    const deadline = Date.now() + 3_000;
    while (members().length > 0 && Date.now() < deadline) await sleep(100);
    if (members().length > 0) signal(record.pid, "SIGKILL");
    while (members().length > 0 && Date.now() < deadline + 2_000) await sleep(100);
  }
  // Only ever a folder of ours: mkdtemp's prefix in the temp folder.
  const dir = path.resolve(record.dir);
  if (path.dirname(dir) === path.resolve(os.tmpdir()) && path.basename(dir).startsWith("inspect-rooms-"))
    rmSync(dir, { recursive: true, force: true });
  removeRecord(file);
}

function signal(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* gone */
  }
}

/** The command lines of a process group's members (Linux's /proc; elsewhere, `ps`). */
function groupMembers(pgid: number): string[] {
  try {
    const out: string[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        // Fields after the command's closing parenthesis: state, ppid, pgrp.
        const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
        if (pgrp === pgid) out.push(readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " "));
      } catch {
        /* exited meanwhile */
      }
    }
    return out;
  } catch {
    try {
      return execFileSync("ps", ["-o", "pgid=,command=", "-A"], { encoding: "utf8" })
        .split("\n")
        .filter((l) => Number(l.trim().split(/\s+/)[0]) === pgid)
        .map((l) => l.trim().replace(/^\d+\s+/, ""));
    } catch {
      return [];
    }
  }
}

/** partykit dev, or the workerd / esbuild it started. */
function isRoomProcess(cmdline: string): boolean {
  return /partykit|workerd|esbuild/.test(cmdline);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
