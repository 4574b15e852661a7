import { describe, expect, it } from "vitest";
import { SerialQueue } from "./serial.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("SerialQueue", () => {
  it("runs one key's tasks in call order, even when an earlier one is slower or fails", async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    const a = q.run("t", async () => {
      await tick(30);
      order.push("a");
      throw new Error("a failed");
    });
    const b = q.run("t", async () => {
      order.push("b");
      return "b";
    });
    await expect(a).rejects.toThrow("a failed");
    expect(await b).toBe("b");
    expect(order).toEqual(["a", "b"]);
    await tick(0);
    expect(q.size).toBe(0);
  });

  it("does not hold one key back for another", async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    const slow = q.run("x", async () => {
      await tick(30);
      order.push("x");
    });
    await q.run("y", async () => void order.push("y"));
    await slow;
    expect(order).toEqual(["y", "x"]);
  });
});
