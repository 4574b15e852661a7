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
});
