import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { NewEvent } from "../protocol/events.js";
import { startDevServer } from "./dev-server.js";
import { noJail } from "./jail/jail.js";
import { until } from "../test/support/wait.js";

const root = mkdtempSync(path.join(os.tmpdir(), "inspect-devserver-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function world(name: string) {
  const jail = noJail(path.join(root, name));
  const events: NewEvent[] = [];
  const lines: string[] = [];
  const noteFile = path.join(jail.xfer, "note.md");
  return {
    jail,
    events,
    noteFile,
    common: {
      dir: jail.box,
      jail,
      noteFile,
      emit: (e: NewEvent[]) => void events.push(...e),
      log: (l: string) => void lines.push(l),
      signal: new AbortController().signal,
    },
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the repository's dev server", () => {
  it("one that never answers is stopped after the bound, reported, and the agent told", async () => {
    const w = world("silent");
    const started = Date.now();
    const server = await startDevServer({
      ...w.common,
      config: { devServer: "echo starting; echo $$ > pid; exec sleep 60", url: "http://127.0.0.1:9/", waitMs: 1_500 },
    });
    expect(server.ready).toBe(false);
    expect(Date.now() - started).toBeLessThan(6_000);
    const error = w.events.find((e) => e.type === "error");
    expect(error?.data).toMatchObject({ code: "dev_server_timeout" });
    expect((error?.data as { message: string }).message).toMatch(
      /did not answer at http:\/\/127\.0\.0\.1:9\/ within 2 s and was stopped; continuing without it/,
    );
    // Its output was shown and logged; its process is gone.
    expect(w.events.some((e) => e.type === "setup.output" && e.data.text.includes("starting"))).toBe(true);
    expect(readFileSync(path.join(w.jail.xfer, "dev-server.log"), "utf8")).toContain("starting");
    const pid = Number(readFileSync(path.join(w.jail.box, "pid"), "utf8"));
    expect(alive(pid)).toBe(false);
    expect(readFileSync(w.noteFile, "utf8")).toMatch(/so it is not running/);
  });

  it("a URL alone (the setup script started the server) is waited for and told", async () => {
    const http = createServer((_q, s) => s.writeHead(404).end()).listen(0, "127.0.0.1");
    await new Promise((r) => http.once("listening", r));
    const url = `http://localhost:${(http.address() as AddressInfo).port}/`;
    const w = world("url-only");
    const server = await startDevServer({ ...w.common, config: { devServer: null, url, waitMs: 5_000 } });
    http.close();
    expect(server.ready).toBe(true);
    expect(w.events.filter((e) => e.type === "error")).toEqual([]);
    expect(readFileSync(w.noteFile, "utf8")).toContain(`answers at ${url}`);
    expect(existsSync(path.join(w.jail.xfer, "dev-server.log"))).toBe(false);
  });
});

describe("a dev server that exits after it answered", () => {
  /** Answers every request; exits `exitAfterMs` after it starts listening when `runs` says so. */
  function serverCommand(port: number, exitWhen: "first" | "always") {
    const js = [
      "const fs = require('fs');",
      "fs.appendFileSync('runs', 'run\\n');",
      "const runs = fs.readFileSync('runs', 'utf8').trim().split('\\n').length;",
      `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => {`,
      `  if (${exitWhen === "always" ? "true" : "runs === 1"}) setTimeout(() => process.exit(3), 400);`,
      "});",
    ].join(" ");
    return `exec node -e "${js}"`;
  }

  async function freePort(): Promise<number> {
    const probe = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => probe.once("listening", r));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    return port;
  }

  const runs = (dir: string) => readFileSync(path.join(dir, "runs"), "utf8").trim().split("\n").length;

  it("is started again, said as an error; a stop ends it for good", async () => {
    const port = await freePort();
    const w = world("restarts");
    const server = await startDevServer({
      ...w.common,
      config: { devServer: serverCommand(port, "first"), url: `http://127.0.0.1:${port}/`, waitMs: 10_000 },
      restartDelayMs: 50,
    });
    expect(server.ready).toBe(true);
    await until("restarted", () => w.events.some((e) => e.type === "error" && e.data.code === "dev_server_restarted"));
    expect(w.events.find((e) => e.type === "error")?.data.message).toMatch(
      /exited with code 3; restarting it \(1 of 3\)$/,
    );
    await until("answering again", async () => runs(w.jail.box) === 2 && (await fetch(`http://127.0.0.1:${port}/`)).ok);
    await server.stop();
    await new Promise((r) => setTimeout(r, 600));
    expect(runs(w.jail.box)).toBe(2);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    expect(readFileSync(w.noteFile, "utf8")).toMatch(/is running in the background/);
  });

  it("is given up on after three restarts, and the agent is told it is not running", async () => {
    const port = await freePort();
    const w = world("gives-up");
    const server = await startDevServer({
      ...w.common,
      config: { devServer: serverCommand(port, "always"), url: `http://127.0.0.1:${port}/`, waitMs: 10_000 },
      restartDelayMs: 50,
    });
    expect(server.ready).toBe(true);
    await until(
      "given up",
      () => w.events.some((e) => e.type === "error" && e.data.code === "dev_server_failed"),
      20_000,
    );
    const errors = w.events.filter((e) => e.type === "error").map((e) => e.data.code);
    expect(errors).toEqual([
      "dev_server_restarted",
      "dev_server_restarted",
      "dev_server_restarted",
      "dev_server_failed",
    ]);
    expect(runs(w.jail.box)).toBe(4);
    expect(readFileSync(w.noteFile, "utf8")).toMatch(/after 3 restarts, so it is not running/);
    await server.stop();
  });
});
