import { describe, expect, it } from "vitest";
import { backoff, withRetry } from "./retry.js";

class Transient extends Error {}

describe("bounded retries", () => {
  const options = { attempts: 3, delayMs: () => 1, retryable: (e: unknown) => e instanceof Transient };

  it("retries transient failures and returns the first success", async () => {
    let calls = 0;
    const result = await withRetry(async () => {
      if (++calls < 3) throw new Transient("blip");
      return "ok";
    }, options);
    expect(result).toBe("ok");
    expect(calls).toBe(3);
  });

  it("gives up after the last attempt with the last error", async () => {
    let calls = 0;
    await expect(withRetry(async () => Promise.reject(new Transient(`blip ${++calls}`)), options)).rejects.toThrow(
      "blip 3",
    );
    expect(calls).toBe(3);
  });

  it("does not retry a permanent failure", async () => {
    let calls = 0;
    await expect(withRetry(async () => Promise.reject(new Error(`rejected ${++calls}`)), options)).rejects.toThrow(
      "rejected 1",
    );
    expect(calls).toBe(1);
  });

  it("backs off exponentially up to a cap", () => {
    const delay = backoff(500, 3_000);
    expect([1, 2, 3, 4, 5].map(delay)).toEqual([500, 1_000, 2_000, 3_000, 3_000]);
  });
});
