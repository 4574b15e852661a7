/**
 * Spending caps for a turn: the operator's (INSPECT_SESSION_BUDGET_USD, INSPECT_PROMPT_BUDGET_USD,
 * sent in the session spec), lowered — never raised — by the repository's `.inspect/config.yml`.
 * Crossing one ends the turn as an Interruption: its work is kept, the prompt fails saying why.
 */
import { formatUsd } from "../../protocol/usage.js";
import { Interruption } from "../interruption.js";

interface Cap {
  usd: number;
  /** Where it was set, for the message: the variable, or the repository's config file. */
  from: string;
}

export interface Budgets {
  session: Cap | null;
  prompt: Cap | null;
}

const lower = (a: Cap | null, b: Cap | null): Cap | null => (!a ? b : !b ? a : b.usd < a.usd ? b : a);

/** The operator's caps, each lowered by the repository's where it asks for less. */
export function effectiveBudgets(
  operator: { sessionUsd?: number; promptUsd?: number } | undefined,
  repo: { sessionUsd?: number; promptUsd?: number } | null,
  repoFile: string,
): Budgets {
  const cap = (usd: number | undefined, from: string): Cap | null => (usd === undefined ? null : { usd, from });
  return {
    session: lower(cap(operator?.sessionUsd, "INSPECT_SESSION_BUDGET_USD"), cap(repo?.sessionUsd, repoFile)),
    prompt: lower(cap(operator?.promptUsd, "INSPECT_PROMPT_BUDGET_USD"), cap(repo?.promptUsd, repoFile)),
  };
}

/** Sums of float dollars drift ($0.0024 + $0.0006 < $0.003): a cap is reached within a billionth of a dollar. */
const reached = (usd: number, cap: Cap) => usd >= cap.usd - 1e-9;

const KEPT = "the turn was stopped and its work so far is committed and pushed.";

/**
 * The interruption due once a turn has spent `turnUsd`, after the session's earlier prompts spent
 * `sessionBeforeUsd`; null while within both caps. Reaching a cap counts as crossing it.
 */
export function overBudget(budgets: Budgets, sessionBeforeUsd: number, turnUsd: number): Interruption | null {
  const { prompt, session } = budgets;
  if (prompt && reached(turnUsd, prompt))
    return new Interruption(
      `This prompt reached its budget of ${formatUsd(prompt.usd)} (${prompt.from}) after spending ${formatUsd(turnUsd)}; ${KEPT}`,
      "budget_exceeded",
    );
  const total = sessionBeforeUsd + turnUsd;
  if (session && reached(total, session))
    return new Interruption(
      `This session reached its budget of ${formatUsd(session.usd)} (${session.from}) after spending ${formatUsd(total)}; ${turnUsd > 0 ? KEPT : "no further prompt runs in it."}`,
      "budget_exceeded",
    );
  return null;
}
