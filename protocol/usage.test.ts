import { describe, expect, it } from "vitest";
import { formatCost, formatTokens, formatUsd, sumUsage, totalTokens, usageLine } from "./usage.js";

describe("usage totals", () => {
  it("adds tokens and known costs; one unpriced part makes the total a floor, all unpriced makes it unknown", () => {
    const priced = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 50, cost: 0.25 };
    const unpriced = { inputTokens: 10, outputTokens: 5, reasoningTokens: 3 };
    const all = sumUsage([priced, null, priced]);
    expect(all).toMatchObject({
      inputTokens: 200,
      outputTokens: 40,
      cacheReadTokens: 100,
      cost: 0.5,
      unpriced: 0,
      parts: 2,
    });
    expect(formatCost(all)).toBe("$0.50");
    expect(formatCost(sumUsage([priced, unpriced]))).toBe("$0.25 + unknown");
    expect(formatCost(sumUsage([unpriced]))).toBe("unknown");
    expect(formatCost(sumUsage([]))).toBe("–");
    expect(totalTokens(sumUsage([unpriced]))).toBe(18);
    expect(usageLine(sumUsage([priced]))).toBe("$0.25 · 170 tokens");
  });

  it("writes amounts and token counts readably", () => {
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(0.0006)).toBe("$0.0006");
    expect(formatUsd(0.01234)).toBe("$0.012");
    expect(formatUsd(0.00001)).toBe("<$0.0001");
    expect(formatUsd(3.456)).toBe("$3.46");
    expect(formatUsd(12345.6)).toBe("$12,346");
    expect(formatTokens(999)).toBe("999 tokens");
    expect(formatTokens(1234)).toBe("1.2k tokens");
    expect(formatTokens(123_456)).toBe("123k tokens");
    expect(formatTokens(2_500_000)).toBe("2.5M tokens");
  });
});
