import { describe, expect, it } from "vitest";
import { checkRunOutput, pullRequestBody, type SummaryPrompt } from "./summary.js";

const prompts: SummaryPrompt[] = [
  { author: "alice", text: "@inspect fix the crash on /login", status: "done", commits: [{ sha: "abcdef1234", message: "fix" }], summary: "Fixed the null check in login.ts.", error: null, changedFiles: 2 },
  { author: "bob", text: "@inspect also add a test", status: "failed", commits: [], summary: null, error: "model overloaded", changedFiles: 0 },
  { author: "carol", text: "never mind", status: "cancelled", commits: [], summary: null, error: null, changedFiles: null },
];

describe("pullRequestBody", () => {
  it("leads with the latest summary, lists prompts with authors, links the session and closes the issue", () => {
    const body = pullRequestBody({ sessionUrl: "https://i.test/sessions/s1", prompts, closes: 12, requestedBy: "alice" });
    expect(body.split("\n\n")[0]).toBe("Fixed the null check in login.ts.");
    expect(body).toContain("- ✅ @alice: fix the crash on /login — `abcdef1`");
    expect(body).toContain("- ❌ @bob: also add a test — model overloaded");
    expect(body).not.toContain("carol");
    expect(body).toContain("[Follow the session live](https://i.test/sessions/s1)");
    expect(body.trimEnd().endsWith("Closes #12")).toBe(true);
  });
  it("has no Closes line for PR or web sessions", () => {
    expect(pullRequestBody({ sessionUrl: "u", prompts: [], closes: null, requestedBy: "a" })).not.toContain("Closes");
  });
});

describe("checkRunOutput", () => {
  it("counts prompts, commits and files", () => {
    const out = checkRunOutput({ sessionUrl: "https://i.test/sessions/s1", prompts, closes: null, requestedBy: "alice" }, { title: "Done" });
    expect(out.title).toBe("Done");
    expect(out.summary).toMatch(/^\*\*2 prompt\(s\), 1 commit\(s\), 2 file change\(s\)\.\*\*/);
  });
});
