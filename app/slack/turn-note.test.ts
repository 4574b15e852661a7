import { describe, expect, it } from "vitest";
import { failedTurnNote } from "./turn-note.js";

describe("the Slack card's note on a failed prompt", () => {
  it("says why the latest finished prompt failed, escaped; nothing once a later one succeeded", () => {
    const budget =
      "This prompt reached its budget of $1.00 (INSPECT_PROMPT_BUDGET_USD) after spending $1.02; the turn was stopped and its work so far is committed and pushed.";
    expect(
      JSON.stringify(
        failedTurnNote([
          { status: "failed", error: budget },
          { status: "queued", error: null },
        ]),
      ),
    ).toContain(`The last prompt failed: ${budget}`);
    expect(JSON.stringify(failedTurnNote([{ status: "failed", error: "<@U1> <!channel> & co" }]))).toContain(
      "&lt;@U1&gt; &lt;!channel&gt; &amp; co",
    );
    expect(
      failedTurnNote([
        { status: "failed", error: budget },
        { status: "done", error: null },
      ]),
    ).toBeNull();
    expect(failedTurnNote([])).toBeNull();
  });
});
