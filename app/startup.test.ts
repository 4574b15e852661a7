/** `npm start`'s entry point as a real process: embedded defaults, and one-line config errors. */
import { spawn } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
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

  it("stops with one line naming a bad variable", async () => {
    const p = start({ PORT: "not-a-port" });
    expect(await p.exited).toBe(1);
    expect(p.output().trim()).toBe('Configuration error: PORT: expected a port number (0-65535), got "not-a-port"');
  });
});
