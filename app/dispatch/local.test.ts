import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { until } from "../../test/support/wait.js";
import { LocalDispatcher } from "./local.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} } as never;

describe("LocalDispatcher.alive", () => {
  let dir: string;
  let dispatcher: LocalDispatcher;
  const exits: { key: string; signal: NodeJS.Signals | null }[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "inspect-local-"));
    const entry = path.join(dir, "runner.mjs");
    writeFileSync(entry, "setInterval(() => {}, 1000);\n");
    exits.length = 0;
    dispatcher = new LocalDispatcher({
      controlPlaneUrl: () => "http://127.0.0.1:1",
      workDir: path.join(dir, "runners"),
      snapshotDir: path.join(dir, "snapshots"),
      log: quiet,
      onExit: (key, _code, signal) => exits.push({ key, signal }),
      entry,
      sandboxUser: null,
      hide: [],
    });
  });

  afterEach(async () => {
    await dispatcher.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("says a killed runner is dead before Node has heard of its exit", async () => {
    await dispatcher.dispatch({ sessionId: "s1", claimToken: "t" });
    expect(dispatcher.alive("s1")).toBe(true);
    const pid = Number(readFileSync(path.join(dir, "runners", "s1", "runner.pid"), "utf8"));
    process.kill(pid, "SIGKILL");
    // No await until it is seen: the event loop does not turn, so Node's exit event cannot have run.
    const deadline = Date.now() + 5_000;
    while (dispatcher.alive("s1") && Date.now() < deadline);
    expect(dispatcher.alive("s1")).toBe(false);
    expect(exits).toEqual([]);
    await until("the exit is heard", () => exits.length === 1);
    expect(exits).toEqual([{ key: "s1", signal: "SIGKILL" }]);
    expect(dispatcher.alive("s1")).toBe(false);
  });

  it("an unknown key is not alive", () => {
    expect(dispatcher.alive("nobody")).toBe(false);
  });
});
