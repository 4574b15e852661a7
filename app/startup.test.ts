/** `npm start`'s entry point as a real process: embedded defaults, and one-line config errors. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "app/main.ts"], {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitFor(check: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("npm start", () => {
  it("runs on embedded defaults without credentials, serves /healthz and says what to configure", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "inspect-start-"));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const p = start({ PORT: String(port), INSPECT_DATA_DIR: dataDir });
    try {
      await waitFor(() => p.output().includes("Inspect is running"), 60_000);
      expect(p.output()).toMatch(/No GitHub App configured — local mode\..*set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET/);
      // It says the session's code runs as us, and keeps its data folder to itself.
      expect(p.output()).toMatch(/Sessions run as \S+, without the sandbox boundary/);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      expect(health).toEqual({ ok: true, database: "pglite", githubApp: false, runner: "local" });
      // The room server (partykit dev) came up with it: a room refuses an unauthenticated append.
      const room = await fetch("http://127.0.0.1:1999/parties/main/probe", { method: "POST", body: "{}" });
      expect(room.status).toBe(401);
    } finally {
      p.child.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
    // …and went away with it: nothing left listening.
    await expect(fetch("http://127.0.0.1:1999/parties/main/probe", { method: "POST", body: "{}" })).rejects.toThrow();
  });

  it("after a SIGKILL, the next start replaces the room server the killed one left; a clean stop then leaves nothing running", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "inspect-start-"));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env = { PORT: String(port), INSPECT_DATA_DIR: dataDir };
    const pidFile = path.join(dataDir, "rooms.pid");
    const probe = () => fetch("http://127.0.0.1:1999/parties/main/probe", { method: "POST", body: "{}" });
    // A process group with any member still running (partykit's node, workerd, esbuild). A zombie
    // is not running: in a container whose pid 1 reaps nothing, it stays until the container ends.
    const groupAlive = (pgid: number) =>
      readdirSync("/proc").some((entry) => {
        if (!/^\d+$/.test(entry)) return false;
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
          const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          return Number(pgrp) === pgid && state !== "Z";
        } catch {
          return false;
        }
      });

    const first = start(env);
    await waitFor(() => first.output().includes("Inspect is running"), 60_000);
    const left = JSON.parse(readFileSync(pidFile, "utf8")) as { pid: number; dir: string };
    first.child.kill("SIGKILL");
    await first.exited;
    // Killed without a chance to stop its child: the room server is still there, holding its port.
    expect(groupAlive(left.pid)).toBe(true);
    expect((await probe()).status).toBe(401);

    const second = start(env);
    try {
      await waitFor(() => second.output().includes("Inspect is running"), 60_000);
      expect(second.output()).toContain(`stopping the room server a previous run left behind (pid ${left.pid}`);
      await waitFor(() => !groupAlive(left.pid), 5_000);
      expect(existsSync(left.dir)).toBe(false);
      const own = JSON.parse(readFileSync(pidFile, "utf8")) as { pid: number; dir: string };
      expect(own.pid).not.toBe(left.pid);
      // The restarted app has a working room server of its own.
      expect((await probe()).status).toBe(401);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
      await waitFor(() => !groupAlive(own.pid), 5_000);
      expect(existsSync(own.dir)).toBe(false);
    } finally {
      second.child.kill("SIGKILL");
      // A failed run must not leave a room server holding port 1999 for the tests after it.
      for (const pgid of [left.pid, ...(existsSync(pidFile) ? [JSON.parse(readFileSync(pidFile, "utf8")).pid] : [])]) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    expect(existsSync(pidFile)).toBe(false);
    await expect(probe()).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("stops with one line naming a bad variable", async () => {
    const p = start({ PORT: "not-a-port" });
    expect(await p.exited).toBe(1);
    expect(p.output().trim()).toBe('Configuration error: PORT: expected a port number (0-65535), got "not-a-port"');
  });
});
