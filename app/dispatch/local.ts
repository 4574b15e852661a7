import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { detectBoundary } from "../../sandbox/jail/boundary.js";
import { signalGroup } from "../../sandbox/proc/group.js";
import type { Logger } from "../util/tasks.js";
import { DispatchError, type Dispatcher, type DispatchRequest } from "./dispatcher.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SANDBOX_ENTRY = path.join(root, "sandbox", "main.ts");

export interface LocalDispatcherOptions {
  controlPlaneUrl: () => string;
  workDir: string;
  /** Where runners keep each repository's checkout between sessions (a later session moves it in instead of cloning). */
  snapshotDir: string;
  log: Logger;
  /** Called when a runner process ends, with the tail of its output. */
  onExit: (sessionId: string, code: number | null, signal: NodeJS.Signals | null, outputTail: string) => void;
  /** Called when a pooled runner's process ends (before `onExit` of the session it took over, if any). */
  onPoolExit?: (slotId: string, how: string) => void;
  entry?: string;
  /**
   * Run the session's code as this OS user inside bubblewrap, and refuse to start a session
   * when that is not possible. Null: as ourselves (local mode without a GitHub App only).
   */
  sandboxUser: string | null;
  /** What the session's code must not see: the data folder, the App's key, `.env`. */
  hide: string[];
}

/** Only what a runner needs from our environment: never the app's secrets. */
const PASS_THROUGH = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TMPDIR",
  "TERM",
  "SHELL",
  "USER",
  "NODE_OPTIONS",
  "INSPECT_OPENCODE_BIN",
];

/** In each runner's folder: its process group's id, so a restarted control plane finds it. */
const PID_FILE = "runner.pid";
/** In a pooled runner's folder, once it took a session over: that session's id. */
const SESSION_FILE = "session";
const POOL_PREFIX = "pool-";
const ADOPTED_POLL_MS = 1_000;

/**
 * Runs the sandbox runtime as a child process on this machine (local mode and
 * `npm start`). Each runner gets its own process group so it and everything it
 * started (OpenCode, setup scripts) can be ended together.
 *
 * A runner outlives a control plane that crashes (its turn goes on and it reconnects), so each
 * one leaves a pid file; the next control plane adopts the runners still alive — watches them
 * and stops them with its own at shutdown — and forgets the rest.
 */
export class LocalDispatcher implements Dispatcher {
  readonly kind = "local";
  readonly usesClaimTokens = true;
  /** By key: the session id, or `pool-<slot>` for a pooled runner. */
  private readonly children = new Map<string, ChildProcess>();
  /** Runners an earlier control plane started, by key: their process group ids. */
  private readonly adopted = new Map<string, number>();
  /** Sessions that pooled runners took over: session id → the runner's key. */
  private readonly bound = new Map<string, string>();
  private adoptedWatch: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly entry: string;

  constructor(private readonly opts: LocalDispatcherOptions) {
    this.entry = opts.entry ?? SANDBOX_ENTRY;
    this.adoptSurvivors();
  }

  /**
   * Asks the kernel, not only our map: a runner killed a moment ago is dead before Node hears of
   * its exit, and a pooled sandbox must not be assigned in that window (its session would fail).
   */
  alive(key: string): boolean {
    const runner = this.bound.get(key) ?? key;
    const child = this.children.get(runner);
    if (child) return child.pid !== undefined && !hasExited(child.pid);
    const pid = this.adopted.get(runner);
    return pid !== undefined && this.isOurRunner(pid);
  }

  tracks(key: string): boolean {
    const runner = this.bound.get(key) ?? key;
    return this.children.has(runner) || this.adopted.has(runner);
  }

  /** Runners left by an earlier control plane of this data folder that are still running. */
  private adoptSurvivors(): void {
    let dirs: string[];
    try {
      dirs = readdirSync(this.opts.workDir);
    } catch {
      return;
    }
    for (const sessionId of dirs) {
      const file = path.join(this.opts.workDir, sessionId, PID_FILE);
      let pid: number;
      try {
        pid = Number(readFileSync(file, "utf8").trim());
      } catch {
        continue;
      }
      if (Number.isInteger(pid) && pid > 1 && this.isOurRunner(pid)) {
        this.adopted.set(sessionId, pid);
        const session = boundSession(path.join(this.opts.workDir, sessionId));
        if (session) this.bound.set(session, sessionId);
        this.opts.log.info({ sessionId, pid }, "adopted a runner left by an earlier Inspect process");
      } else {
        rmSync(file, { force: true });
      }
    }
    if (this.adopted.size === 0) return;
    this.adoptedWatch = setInterval(() => this.checkAdopted(), ADOPTED_POLL_MS);
    this.adoptedWatch.unref();
  }

  /** The pid is alive and is a runner of this entry (not a process that reused the number). */
  private isOurRunner(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(this.entry);
    } catch {
      return false;
    }
  }

  private checkAdopted(): void {
    for (const [sessionId, pid] of this.adopted) {
      if (this.isOurRunner(pid)) continue;
      this.adopted.delete(sessionId);
      rmSync(path.join(this.opts.workDir, sessionId, PID_FILE), { force: true });
      killGroup(pid, "SIGKILL");
      this.ended(sessionId, null, null, "");
    }
    if (this.adopted.size === 0 && this.adoptedWatch) {
      clearInterval(this.adoptedWatch);
      this.adoptedWatch = null;
    }
  }

  async dispatch(req: DispatchRequest): Promise<void> {
    if (!req.claimToken) throw new DispatchError("a local runner needs a claim token");
    this.spawnRunner(req.sessionId, { INSPECT_SESSION_ID: req.sessionId, INSPECT_RUNNER_TOKEN: req.claimToken });
  }

  async dispatchPool(req: { slotId: string; claimToken: string | null }): Promise<void> {
    if (!req.claimToken) throw new DispatchError("a local runner needs a claim token");
    this.spawnRunner(POOL_PREFIX + req.slotId, {
      INSPECT_POOL_SLOT_ID: req.slotId,
      INSPECT_RUNNER_TOKEN: req.claimToken,
    });
  }

  bindPool(slotId: string, sessionId: string): void {
    const key = POOL_PREFIX + slotId;
    this.bound.set(sessionId, key);
    // A control plane restarted later still knows whose runner this is.
    writeFileSync(path.join(this.opts.workDir, key, SESSION_FILE), `${sessionId}\n`);
  }

  stopPool(slot: { id: string }): void {
    const key = POOL_PREFIX + slot.id;
    const child = this.children.get(key);
    if (child) {
      signalGroup(child, "SIGTERM");
      setTimeout(() => signalGroup(child, "SIGKILL"), 5_000).unref();
    }
    const pid = this.adopted.get(key);
    if (pid) killGroup(pid, "SIGKILL");
  }

  /** A runner ended: a pooled one's slot is told, then the session it ran (if any). */
  private ended(key: string, code: number | null, signal: NodeJS.Signals | null, tail: string): void {
    if (!key.startsWith(POOL_PREFIX)) return this.opts.onExit(key, code, signal, tail);
    const how = signal ? `was killed by ${signal}` : code === null ? "was gone" : `exited with code ${code}`;
    this.opts.onPoolExit?.(key.slice(POOL_PREFIX.length), how);
    for (const [sessionId, runner] of this.bound) {
      if (runner !== key) continue;
      this.bound.delete(sessionId);
      this.opts.onExit(sessionId, code, signal, tail);
    }
  }

  private spawnRunner(key: string, identity: Record<string, string>): void {
    if (this.closing) throw new DispatchError("Inspect is shutting down");
    if (!existsSync(this.entry)) {
      throw new DispatchError(`the local runner is not available: ${path.relative(root, this.entry)} is missing`);
    }
    if (this.opts.sandboxUser) {
      const boundary = detectBoundary(this.opts.sandboxUser);
      if (!boundary.ok) {
        throw new DispatchError(
          `with a GitHub App configured, sessions run only inside the sandbox boundary, and it is not in place: ${boundary.reason} (see README → Security)`,
        );
      }
    }
    const workDir = path.join(this.opts.workDir, key);
    mkdirSync(workDir, { recursive: true });
    const env: Record<string, string> = {};
    for (const name of PASS_THROUGH) if (process.env[name]) env[name] = process.env[name]!;
    Object.assign(env, {
      INSPECT_CONTROL_PLANE_URL: this.opts.controlPlaneUrl(),
      ...identity,
      INSPECT_WORK_DIR: workDir,
      INSPECT_SNAPSHOT_DIR: this.opts.snapshotDir,
      ...(this.opts.sandboxUser
        ? {
            INSPECT_SANDBOX_USER: this.opts.sandboxUser,
            INSPECT_SANDBOX_HIDE: JSON.stringify([this.opts.workDir, this.opts.snapshotDir, ...this.opts.hide]),
          }
        : {}),
    });
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const child = spawn(process.execPath, ["--import", tsx, this.entry], {
      cwd: workDir,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.set(key, child);
    const pidFile = path.join(workDir, PID_FILE);
    if (child.pid) writeFileSync(pidFile, `${child.pid}\n`);
    let tail = "";
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-4_000);
      this.opts.log.debug({ sessionId: key }, chunk.toString("utf8").trimEnd());
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.on("error", (err) => {
      tail += `\n${err.message}`;
    });
    child.on("exit", (code, signal) => {
      if (this.children.get(key) === child) this.children.delete(key);
      rmSync(pidFile, { force: true });
      // Anything the runner left running in its group goes with it.
      signalGroup(child, "SIGKILL");
      this.ended(key, code, signal, tail.trim().split("\n").slice(-15).join("\n"));
    });
  }

  get running(): number {
    return this.children.size + this.adopted.size;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.adoptedWatch) clearInterval(this.adoptedWatch);
    const adopted = [...this.adopted].map(async ([sessionId, pid]) => {
      killGroup(pid, "SIGTERM");
      for (let waited = 0; waited < 5_000 && this.isOurRunner(pid); waited += 100) await sleep(100);
      killGroup(pid, "SIGKILL");
      rmSync(path.join(this.opts.workDir, sessionId, PID_FILE), { force: true });
    });
    const exits = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 5_000);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          signalGroup(child, "SIGTERM");
        }),
    );
    await Promise.all([...exits, ...adopted]);
    this.adopted.clear();
  }
}

function boundSession(dir: string): string | null {
  try {
    return readFileSync(path.join(dir, SESSION_FILE), "utf8").trim() || null;
  } catch {
    return null;
  }
}

/**
 * The process is gone or a zombie (dead, not yet reaped by Node). Where /proc cannot be read
 * (not Linux), only Node's exit event tells.
 */
function hasExited(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" && existsSync("/proc/self/stat");
  }
  // "pid (comm) S ...": the state follows the last ')' (comm may hold spaces and parentheses).
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state === "Z" || state === "X";
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
