import { describe, expect, it } from "vitest";
import { BoundedMap } from "./bounded-map.js";

describe("BoundedMap", () => {
  it("keeps at most `limit` entries, forgetting the least recently written", () => {
    const m = new BoundedMap<string, number>(3);
    for (const [k, v] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ] as const)
      m.set(k, v);
    m.set("a", 10); // rewritten: now the newest
    m.set("d", 4);
    expect([...m.entries()]).toEqual([
      ["c", 3],
      ["a", 10],
      ["d", 4],
    ]);
    for (let i = 0; i < 10_000; i++) m.set(`k${i}`, i);
    expect(m.size).toBe(3);
  });
});
