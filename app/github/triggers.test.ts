import { describe, expect, it } from "vitest";
import { allExamples, issueComment, payload } from "../../test/support/payloads.js";
import { parseTrigger, threadKeyOf, worthStoring } from "./triggers.js";

const opts = { handle: "inspect", botLogin: "inspect-app[bot]" };

describe("parseTrigger", () => {
  it("turns a mention in an issue comment into a prompt", () => {
    const t = parseTrigger("issue_comment", issueComment("@inspect fix the crash"), opts);
    expect(t).toMatchObject({
      kind: "prompt",
      source: "github_comment",
      text: "@inspect fix the crash",
      thread: { kind: "issue", number: 12, title: "Login page crashes" },
      actor: { login: "alice", isBot: false },
      comment: { id: 5001, kind: "issue_comment" },
      repo: { owner: "acme", name: "widgets", installationId: 77 },
    });
  });

  it("sees PR threads through issue comments", () => {
    expect(parseTrigger("issue_comment", issueComment("@inspect rebase", { pr: true }), opts)).toMatchObject({
      kind: "prompt",
      thread: { kind: "pull_request" },
    });
  });

  it("recognises @inspect stop", () => {
    expect(parseTrigger("issue_comment", issueComment("@inspect stop"), opts)).toMatchObject({
      kind: "stop",
      reason: "stopped by @alice",
    });
  });

  it("ignores comments without a real mention, and all bots", () => {
    expect(parseTrigger("issue_comment", issueComment("> @inspect fix\n\nquoting"), opts).kind).toBe("ignore");
    expect(
      parseTrigger("issue_comment", issueComment("@inspect fix", { type: "Bot", login: "dependabot[bot]" }), opts),
    ).toEqual({ kind: "ignore", reason: "sender dependabot[bot] is a bot" });
    expect(parseTrigger("issue_comment", issueComment("@inspect fix", { login: "inspect-app[bot]" }), opts).kind).toBe(
      "ignore",
    );
  });

  it("takes assignment to the bot as the issue's title and body", () => {
    const p = payload("issues", "assigned", (p) => {
      p.assignee = { login: "inspect-app[bot]", id: 9, type: "Bot" };
      p.issue.title = "Add dark mode";
      p.issue.body = "Users want it.";
    });
    expect(parseTrigger("issues", p, opts)).toMatchObject({
      kind: "prompt",
      source: "github_assignment",
      text: "Add dark mode\n\nUsers want it.",
    });
    p.assignee.login = "someone";
    expect(parseTrigger("issues", p, opts).kind).toBe("ignore");
    expect(parseTrigger("issues", p, { ...opts, botLogin: null }).kind).toBe("ignore");
  });

  it("reads mentions in new issue and PR bodies", () => {
    const issue = payload("issues", "opened", (p) => (p.issue.body = "Broken.\n\n@inspect please fix"));
    expect(parseTrigger("issues", issue, opts)).toMatchObject({
      kind: "prompt",
      source: "github_issue",
      comment: null,
    });
    const pr = payload("pull_request", "opened", (p) => (p.pull_request.body = "@inspect add tests"));
    expect(parseTrigger("pull_request", pr, opts)).toMatchObject({ kind: "prompt", thread: { kind: "pull_request" } });
    const plain = payload("issues", "opened", (p) => (p.issue.body = "no mention"));
    expect(parseTrigger("issues", plain, opts).kind).toBe("ignore");
  });

  it("carries path, line and diff hunk for review comments", () => {
    const p = payload("pull_request_review_comment", "created", (p) => {
      p.comment.body = "@inspect rename this";
      p.comment.path = "src/a.ts";
      p.comment.line = 10;
      p.comment.diff_hunk = "@@ -1 +1 @@\n-a\n+b";
    });
    expect(parseTrigger("pull_request_review_comment", p, opts)).toMatchObject({
      kind: "prompt",
      source: "github_review_comment",
      review: { path: "src/a.ts", line: 10, diffHunk: "@@ -1 +1 @@\n-a\n+b" },
      comment: { kind: "review_comment" },
    });
  });

  it("archives on PR close (even by a bot), stops on issue close or unassignment", () => {
    const closed = payload("pull_request", "closed", (p) => {
      p.pull_request.merged = true;
      p.sender.type = "Bot";
      p.sender.login = "merge-bot[bot]";
    });
    expect(parseTrigger("pull_request", closed, opts)).toMatchObject({ kind: "archive", merged: true });
    const unassigned = payload("issues", "unassigned", (p) => (p.assignee = { login: "inspect-app[bot]" }));
    expect(parseTrigger("issues", unassigned, opts)).toMatchObject({ kind: "stop", reason: "unassigned by @alice" });
  });

  it("maps check run actions", () => {
    const stop = payload("check_run", "requested_action", (p) => (p.requested_action = { identifier: "stop" }));
    expect(parseTrigger("check_run", stop, opts)).toMatchObject({ kind: "check_run_stop" });
    expect(parseTrigger("check_run", payload("check_run", "rerequested"), opts)).toMatchObject({
      kind: "check_run_rerun",
    });
  });

  it.each(
    allExamples([
      "issue_comment",
      "issues",
      "pull_request",
      "pull_request_review",
      "pull_request_review_comment",
      "check_run",
    ]).map((e) => [`${e.name}.${e.action}`, e] as const),
  )("parses the real example %s without throwing", (_label, e) => {
    const t = parseTrigger(e.name, e.payload, opts);
    expect(["prompt", "stop", "archive", "ignore", "check_run_stop", "check_run_rerun"]).toContain(t.kind);
  });

  it("turns a mention in a review's summary into a prompt on the pull request", () => {
    const review = (body: string | null) =>
      payload("pull_request_review", "submitted", (p) => {
        p.review.body = body;
      });
    expect(parseTrigger("pull_request_review", review("@inspect fix the nits"), opts)).toMatchObject({
      kind: "prompt",
      source: "github_review_comment",
      text: "@inspect fix the nits",
      thread: { kind: "pull_request", number: 2 },
      comment: null,
    });
    expect(parseTrigger("pull_request_review", review(null), opts).kind).toBe("ignore");
    expect(parseTrigger("pull_request_review", review("@inspect stop"), opts).kind).toBe("stop");
  });
});

describe("what the inbox keeps, and the thread it orders it by", () => {
  it("keys a delivery by repository and issue or pull request number; none for check runs", () => {
    expect(threadKeyOf(issueComment("hi", { issue: 9 }))).toBe("4242#9");
    expect(threadKeyOf(payload("pull_request", "opened", (p) => (p.pull_request.number = 3)))).toBe("4242#3");
    expect(threadKeyOf(payload("check_run", "rerequested"))).toBeNull();
    expect(threadKeyOf(null)).toBeNull();
    expect(threadKeyOf({ repository: { id: "1" }, issue: { number: 2 } })).toBeNull();
  });

  it("keeps requests, stops, archives and assignments to a bot; not chatter, bots' comments or unreadable payloads", () => {
    expect(worthStoring("issue_comment", issueComment("@inspect go"), "inspect")).toBe(true);
    expect(worthStoring("issue_comment", issueComment("thanks!"), "inspect")).toBe(false);
    expect(
      worthStoring("issue_comment", issueComment("@inspect go", { type: "Bot", login: "x[bot]" }), "inspect"),
    ).toBe(false);
    const assigned = (type: string) =>
      payload("issues", "assigned", (p) => (p.assignee = { login: "someone", id: 5, type }));
    expect(worthStoring("issues", assigned("Bot"), "inspect")).toBe(true);
    expect(worthStoring("issues", assigned("User"), "inspect")).toBe(false);
    expect(worthStoring("pull_request", payload("pull_request", "closed"), "inspect")).toBe(true);
    expect(worthStoring("issue_comment", { action: "created", comment: null }, "inspect")).toBe(false);
  });
});
