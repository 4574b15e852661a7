import { describe, expect, it } from "vitest";
import { Interruption } from "../interruption.js";
import { effectiveBudgets, overBudget } from "./budgets.js";

const FILE = ".inspect/config.yml";

describe("budgets", () => {
  it("a repository lowers a cap, never raises it, and may set one the operator left unset", () => {
    const b = effectiveBudgets({ sessionUsd: 5, promptUsd: 1 }, { sessionUsd: 50, promptUsd: 0.5 }, FILE);
    expect(b.session).toEqual({ usd: 5, from: "INSPECT_SESSION_BUDGET_USD" });
    expect(b.prompt).toEqual({ usd: 0.5, from: FILE });
    expect(effectiveBudgets(undefined, { promptUsd: 2 }, FILE)).toEqual({
      session: null,
      prompt: { usd: 2, from: FILE },
    });
    expect(effectiveBudgets({ promptUsd: 1 }, null, FILE).session).toBeNull();
  });

  it("says which cap was reached, counting the session's earlier spend", () => {
    const b = effectiveBudgets({ sessionUsd: 5, promptUsd: 1 }, null, FILE);
    expect(overBudget(b, 0, 0.99)).toBeNull();
    const prompt = overBudget(b, 0, 1);
    expect(prompt).toBeInstanceOf(Interruption);
    expect(prompt?.code).toBe("budget_exceeded");
    expect(prompt?.message).toMatch(
      /This prompt reached its budget of \$1\.00 \(INSPECT_PROMPT_BUDGET_USD\) after spending \$1\.00; .*committed and pushed/,
    );
    expect(overBudget(effectiveBudgets({ sessionUsd: 0.003 }, null, FILE), 0.0024, 0.0006)).not.toBeNull();
    expect(overBudget(b, 4.5, 0.5)?.message).toMatch(/This session reached its budget of \$5\.00 .*spending \$5\.00/);
    // Already over before the turn: it does not run.
    expect(overBudget(b, 6, 0)?.message).toMatch(/no further prompt runs/);
    expect(overBudget(effectiveBudgets(undefined, null, FILE), 1e9, 1e9)).toBeNull();
  });
});
