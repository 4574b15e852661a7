import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Throttle } from "./throttle.js";

describe("Throttle", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("runs at once, then at most once per interval per key, and the last touch always lands", () => {
    const runs: [string, number][] = [];
    const t = new Throttle(3_000, (key) => runs.push([key, Date.now()]));

    t.touch("a");
    expect(runs).toEqual([["a", 1_000_000]]);
    // A burst inside the interval: one run, at the end of the interval.
    vi.advanceTimersByTime(500);
    t.touch("a");
    vi.advanceTimersByTime(500);
    t.touch("a");
    t.touch("a");
    expect(runs).toHaveLength(1);
    vi.advanceTimersByTime(1_999);
    expect(runs).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(runs).toEqual([
      ["a", 1_000_000],
      ["a", 1_003_000],
    ]);

    // Keys are independent: another session is not held back by this one.
    t.touch("b");
    expect(runs.at(-1)).toEqual(["b", 1_003_000]);

    // Quiet for longer than the interval: the next touch runs at once again.
    vi.advanceTimersByTime(10_000);
    t.touch("a");
    expect(runs.at(-1)).toEqual(["a", 1_013_000]);
    t.close();
  });

  it("drops pending runs on close", () => {
    const run = vi.fn();
    const t = new Throttle(3_000, run);
    t.touch("a");
    t.touch("a");
    t.close();
    vi.advanceTimersByTime(10_000);
    expect(run).toHaveBeenCalledTimes(1);
  });
});
