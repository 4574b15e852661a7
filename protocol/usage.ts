/**
 * Adding up and writing out usage, the same way everywhere (session page, check run, status
 * comment, stats). A cost is known only when every part of it is: one unpriced model call
 * makes the total unknown, never a smaller number that looks complete.
 */
import type { Usage } from "./events.js";

/** A sum of usages; `cost` is the priced part, `unpriced` how many parts had no price. */
export interface UsageTotal {
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** USD of the parts that had a price. */
  cost: number;
  /** Parts (prompts) whose cost is unknown. */
  unpriced: number;
  /** Parts added. */
  parts: number;
}

export const emptyTotal = (): UsageTotal => ({
  inputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cost: 0,
  unpriced: 0,
  parts: 0,
});

/** Add one usage (null or undefined: a prompt that never ran, which adds nothing). */
export function addUsage(total: UsageTotal, usage: Usage | null | undefined): UsageTotal {
  if (!usage) return total;
  total.inputTokens += usage.inputTokens;
  total.outputTokens += usage.outputTokens;
  total.reasoningTokens += usage.reasoningTokens ?? 0;
  total.cacheReadTokens += usage.cacheReadTokens ?? 0;
  total.cacheWriteTokens += usage.cacheWriteTokens ?? 0;
  if (usage.cost === undefined) total.unpriced++;
  else total.cost += usage.cost;
  total.parts++;
  return total;
}

export function sumUsage(usages: Iterable<Usage | null | undefined>): UsageTotal {
  const total = emptyTotal();
  for (const u of usages) addUsage(total, u);
  return total;
}

/** Every token counted once: fresh input, cached input, output and reasoning. */
export function totalTokens(u: Pick<UsageTotal, Exclude<keyof UsageTotal, "cost" | "unpriced" | "parts">>): number {
  return u.inputTokens + u.outputTokens + u.reasoningTokens + u.cacheReadTokens + u.cacheWriteTokens;
}

/** `$0.0123`, `$1.23`, `$1,234`: cents for amounts people compare, more digits for small ones. */
export function formatUsd(usd: number): string {
  if (usd >= 1000) return `$${Math.round(usd).toLocaleString("en-US")}`;
  if (usd >= 0.1 || usd === 0) return `$${usd.toFixed(2)}`;
  if (usd < 0.0001) return "<$0.0001";
  return `$${Number(usd.toPrecision(2))}`;
}

/**
 * The cost as people read it: `$0.42`; `unknown` when nothing was priced; `$0.42 + unknown`
 * when part of it was not (the known part is a floor, not the total).
 */
export function formatCost(t: Pick<UsageTotal, "cost" | "unpriced" | "parts">): string {
  if (t.parts === 0) return "–";
  if (t.unpriced === 0) return formatUsd(t.cost);
  if (t.unpriced === t.parts && t.cost === 0) return "unknown";
  return `${formatUsd(t.cost)} + unknown`;
}

/** `12.3k tokens` */
export function formatTokens(n: number): string {
  if (n < 1000) return `${n} tokens`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k tokens`;
  return `${(n / 1_000_000).toFixed(1)}M tokens`;
}

/** One line for a whole session or a prompt: `$0.42 · 12.3k tokens`. */
export function usageLine(t: UsageTotal): string {
  return `${formatCost(t)} · ${formatTokens(totalTokens(t))}`;
}
