import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SessionBus } from "../sessions/bus.js";
import type { SessionEvent } from "../../protocol/events.js";
import { BackgroundTasks } from "../util/tasks.js";
import { attachReporters, type Reporter } from "./reporter.js";

const ev = (seq: number, e: Omit<SessionEvent, "seq" | "ts">) =>
  ({ seq, ts: "2024-01-01T00:00:00Z", ...e }) as SessionEvent;
const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;

describe("attachReporters", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("hands each event to its kind's handler, syncs (throttled) on the chosen kinds and after pushes, and stops", async () => {
    const bus = new SessionBus();
    const pushHooks: ((id: string) => void)[] = [];
    const tasks = new BackgroundTasks(quiet);
    const log: string[] = [];
    const reporter: Reporter = {
      name: "test",
      syncOn: ["session.status"],
      sync: async (id) => void log.push(`sync ${id}`),
      pushed: async (id) => void log.push(`pushed ${id}`),
      on: { "prompt.started": async (id, e) => void log.push(`started ${id} ${e.data.promptId}`) },
    };
    const stop = attachReporters({ bus, onPushed: (h) => pushHooks.push(h) }, [reporter], { tasks, intervalMs: 1_000 });

    bus.emit("s1", [
      ev(1, { type: "prompt.started", data: { promptId: 7 } }),
      ev(2, { type: "tool.call", data: { callId: "c", tool: "bash", status: "running" } }),
    ]);
    await tasks.drain();
    expect(log).toEqual(["started s1 7"]);

    bus.emit("s1", [ev(3, { type: "session.status", data: { status: "idle" } })]);
    bus.emit("s1", [ev(4, { type: "session.status", data: { status: "running" } })]);
    await tasks.drain();
    expect(log).toEqual(["started s1 7", "sync s1"]);
    await vi.advanceTimersByTimeAsync(1_000);
    await tasks.drain();
    expect(log).toEqual(["started s1 7", "sync s1", "sync s1"]);

    pushHooks.forEach((h) => h("s2"));
    await tasks.drain();
    expect(log.slice(3)).toEqual(["pushed s2", "sync s2"]);

    stop();
    bus.emit("s1", [ev(5, { type: "prompt.started", data: { promptId: 8 } })]);
    pushHooks.forEach((h) => h("s3"));
    await tasks.drain();
    expect(log).toHaveLength(5);
  });

  it("tries a failed sync again with growing waits until it lands, and gives up after four retries", async () => {
    const bus = new SessionBus();
    const tasks = new BackgroundTasks(quiet);
    let failuresLeft = 2;
    const calls: number[] = [];
    const reporter: Reporter = {
      name: "flaky",
      syncOn: ["session.status"],
      sync: async () => {
        calls.push(Date.now());
        if (failuresLeft-- > 0) throw new Error("GitHub answered 502");
      },
    };
    const stop = attachReporters({ bus, onPushed: () => undefined }, [reporter], {
      tasks,
      intervalMs: 0,
      retryMs: 100,
    });
    bus.emit("s1", [ev(1, { type: "session.status", data: { status: "completed" } })]);
    await tasks.drain();
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    await tasks.drain();
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(400);
    await tasks.drain();
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(10_000);
    await tasks.drain();
    // Landed on the third try: nothing more.
    expect(calls).toHaveLength(3);

    failuresLeft = 100;
    bus.emit("s1", [ev(2, { type: "session.status", data: { status: "failed" } })]);
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(30_000);
      await tasks.drain();
    }
    expect(calls).toHaveLength(3 + 1 + 4);
    stop();
  });
});
