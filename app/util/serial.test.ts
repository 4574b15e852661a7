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

  it("lets the next task go once a stuck one has held its key for holdMs", async () => {
    const q = new SerialQueue(40);
    const order: string[] = [];
    void q.run("t", () => new Promise<void>(() => order.push("stuck")));
    await q.run("t", async () => void order.push("next"));
    expect(order).toEqual(["stuck", "next"]);
  });
});
