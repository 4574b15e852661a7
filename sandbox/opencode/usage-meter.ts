/**
 * A turn's usage from OpenCode's assistant messages (one per model call; each update carries
 * the message's totals so far, so the latest update of each counts once).
 *
 * OpenCode prices a call from the model's `cost` in its config and reports 0 for a model that
 * has none — which would read as free. So a call counts as priced only when its model has a
 * price (pricedModels); otherwise the turn's cost is unknown, and absent from its Usage.
 */
import type { AssistantMessage, OpencodeClient } from "@opencode-ai/sdk/v2";
import type { Usage } from "../../protocol/events.js";

interface Call {
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
  cost: number;
  model: string;
}

export class UsageMeter {
  private readonly calls = new Map<string, Call>();
  private lastModel: string | undefined;

  /** `provider/model` of every model with a price; null until known (then nothing counts as priced). */
  constructor(public priced: Set<string> | null = null) {}

  /** An assistant message's latest state. */
  record(info: Pick<AssistantMessage, "id" | "tokens" | "cost" | "providerID" | "modelID">): void {
    const t: Partial<AssistantMessage["tokens"]> = info.tokens ?? {};
    const model = `${info.providerID}/${info.modelID}`;
    this.lastModel = model;
    this.calls.set(info.id, {
      input: Number(t.input) || 0,
      output: Number(t.output) || 0,
      reasoning: Number(t.reasoning) || 0,
      cacheRead: Number(t.cache?.read) || 0,
      cacheWrite: Number(t.cache?.write) || 0,
      cost: Number(info.cost) || 0,
      model,
    });
  }

  /** USD of the calls that had a price: what a budget can count. */
  knownCost(): number {
    let cost = 0;
    for (const c of this.calls.values()) cost += c.cost;
    return cost;
  }

  usage(): Usage {
    const u = { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    let unpriced = false;
    for (const c of this.calls.values()) {
      u.inputTokens += c.input;
      u.outputTokens += c.output;
      u.reasoningTokens += c.reasoning;
      u.cacheReadTokens += c.cacheRead;
      u.cacheWriteTokens += c.cacheWrite;
      const used = c.input + c.output + c.reasoning + c.cacheRead + c.cacheWrite > 0;
      // A call that used nothing (aborted before the first token) costs nothing either way.
      if (used && c.cost === 0 && !this.priced?.has(c.model)) unpriced = true;
    }
    return {
      ...u,
      ...(unpriced ? {} : { cost: this.knownCost() }),
      ...(this.lastModel ? { model: this.lastModel.slice(0, 200) } : {}),
    };
  }
}

/** The models OpenCode has a price for (any non-zero rate); empty when it cannot say. */
export async function pricedModels(client: OpencodeClient): Promise<Set<string>> {
  const priced = new Set<string>();
  const answer = await client.config.providers().catch(() => null);
  const providers = (answer?.data as { providers?: unknown } | undefined)?.providers;
  if (!Array.isArray(providers)) return priced;
  for (const p of providers as { id: string; models?: Record<string, { id?: string; cost?: unknown }> }[]) {
    for (const [key, m] of Object.entries(p.models ?? {})) {
      if (hasPrice(m.cost)) priced.add(`${p.id}/${m.id ?? key}`);
    }
  }
  return priced;
}

function hasPrice(cost: unknown): boolean {
  if (!cost || typeof cost !== "object") return false;
  const c = cost as { input?: unknown; output?: unknown; cache?: { read?: unknown; write?: unknown } };
  return [c.input, c.output, c.cache?.read, c.cache?.write].some((v) => typeof v === "number" && v > 0);
}
