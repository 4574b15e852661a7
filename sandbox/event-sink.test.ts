import { describe, expect, it } from "vitest";
import type { NewEvent } from "../protocol/events.js";
import { coalesce, EventSink } from "./event-sink.js";
import { createRedactor } from "./redact.js";

const delta = (partId: string, d: string): NewEvent => ({ type: "agent.text.delta", data: { partId, delta: d } });

describe("event sink", () => {
  it("merges neighbouring deltas of one part and setup output of one stream, keeping order", () => {
    const out = coalesce([
      delta("p1", "Hel"),
      delta("p1", "lo"),
      delta("p2", "x"),
      { type: "setup.output", data: { stream: "stdout", text: "a" } },
      { type: "setup.output", data: { stream: "stdout", text: "b" } },
      { type: "setup.output", data: { stream: "stderr", text: "c" } },
      delta("p1", "!"),
    ]);
    expect(out).toEqual([
      delta("p1", "Hello"),
      delta("p2", "x"),
      { type: "setup.output", data: { stream: "stdout", text: "ab" } },
      { type: "setup.output", data: { stream: "stderr", text: "c" } },
      delta("p1", "!"),
    ]);
  });

  it("sends in order, one request at a time, in bounded batches, redacted", async () => {
    const sent: NewEvent[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const sink = new EventSink({
      redact: createRedactor(["supersecret-token"]),
      maxBatch: 3,
      lingerMs: 1,
      send: async (batch) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        sent.push(batch);
        inFlight--;
      },
    });
    for (let i = 0; i < 8; i++) sink.push([{ type: "file.edited", data: { path: `f${i}` } }]);
    sink.push([{ type: "error", data: { message: "leaked supersecret-token" } }]);
    await sink.flush();
    expect(maxInFlight).toBe(1);
    expect(sent.every((b) => b.length <= 3)).toBe(true);
    const flat = sent.flat();
    expect(flat.map((e) => (e.type === "file.edited" ? e.data.path : e.type))).toEqual([
      "f0",
      "f1",
      "f2",
      "f3",
      "f4",
      "f5",
      "f6",
      "f7",
      "error",
    ]);
    expect(flat.at(-1)).toEqual({ type: "error", data: { message: "leaked ***" } });
  });

  it("drops a batch the sender gave up on instead of stalling, and goes on", async () => {
    const dropped: number[] = [];
    const sent: NewEvent[] = [];
    let calls = 0;
    const sink = new EventSink({
      redact: (s) => s,
      lingerMs: 1,
      onDrop: (n) => dropped.push(n),
      send: async (batch) => {
        if (calls++ === 0) throw new Error("control plane down");
        sent.push(...batch);
      },
    });
    sink.push([delta("p", "a")]);
    await sink.flush();
    sink.push([delta("p", "b")]);
    await sink.flush();
    expect(dropped).toEqual([1]);
    expect(sent).toEqual([delta("p", "b")]);
  });
});
