import { describe, expect, it } from "vitest";
import { findMention } from "./mention.js";
import { checkRunOutput, pullRequestBody, quoteMentions, type SummaryPrompt } from "./summary.js";

const prompts: SummaryPrompt[] = [
  {
    author: "alice",
    text: "@inspect fix the crash on /login",
    status: "done",
    commits: [{ sha: "abcdef1234", message: "fix" }],
    summary: "Fixed the null check in login.ts.",
    error: null,
    changedFiles: 2,
  },
  {
    author: "bob",
    text: "@inspect also add a test",
    status: "failed",
    commits: [],
    summary: null,
    error: "model overloaded",
    changedFiles: 0,
  },
  {
    author: "carol",
    text: "never mind",
    status: "cancelled",
    commits: [],
    summary: null,
    error: null,
    changedFiles: null,
  },
];

describe("pullRequestBody", () => {
  it("leads with the latest summary, lists prompts with authors, links the session and closes the issue", () => {
    const body = pullRequestBody({
      sessionUrl: "https://i.test/sessions/s1",
      prompts,
      closes: 12,
      requestedBy: "alice",
      handle: "inspect",
    });
    expect(body.split("\n\n")[0]).toBe("Fixed the null check in login.ts.");
    expect(body).toContain("- ✅ @alice: fix the crash on /login — `abcdef1`");
    expect(body).toContain("- ❌ @bob: also add a test — model overloaded");
    expect(body).not.toContain("carol");
    expect(body).toContain("[Follow the session live](https://i.test/sessions/s1)");
    expect(body.trimEnd().endsWith("Closes #12")).toBe(true);
  });
  it("links the browser's screenshots, the first as before and the last as after", () => {
    const base = { sessionUrl: "u", prompts: [], closes: null, requestedBy: "a", handle: "inspect" };
    const shot = (n: number) => ({ name: `page-${n}.png`, url: `https://i.test/api/sessions/s1/artifacts/${n}` });
    const body = pullRequestBody({ ...base, screenshots: [shot(1), shot(2), shot(3)] });
    expect(body).toContain(
      "### Screenshots\n- [page-1.png](https://i.test/api/sessions/s1/artifacts/1) (before)\n- [page-2.png](https://i.test/api/sessions/s1/artifacts/2)\n- [page-3.png](https://i.test/api/sessions/s1/artifacts/3) (after)",
    );
    const one = pullRequestBody({ ...base, screenshots: [shot(1)] });
    expect(one).toContain("- [page-1.png](https://i.test/api/sessions/s1/artifacts/1)");
    expect(one).not.toMatch(/\((before|after)\)/);
    expect(pullRequestBody(base)).not.toContain("Screenshots");
  });

  it("has no Closes line for PR or web sessions", () => {
    expect(
      pullRequestBody({ sessionUrl: "u", prompts: [], closes: null, requestedBy: "a", handle: "inspect" }),
    ).not.toContain("Closes");
  });

  it("never mentions the bot, even when prompts and the agent's summary do", () => {
    const chatty: SummaryPrompt[] = [
      {
        author: "alice",
        text: "fix it, then ask @inspect to add tests",
        status: "done",
        commits: [],
        summary: "Done. Ask @Inspect for more.",
        error: null,
        changedFiles: 1,
      },
    ];
    const body = pullRequestBody({
      sessionUrl: "https://i.test/sessions/s1",
      prompts: chatty,
      closes: 3,
      requestedBy: "alice",
      handle: "inspect",
    });
    expect(findMention(body, "inspect")).toBeNull();
    expect(body).toContain("ask &#64;inspect to add tests");
    expect(body).toContain("Mention `@inspect` on this pull request");
    // The configured handle, not a fixed one.
    const robo = pullRequestBody({
      sessionUrl: "u",
      prompts: [{ ...chatty[0]!, summary: "ask @robo" }],
      closes: null,
      requestedBy: "alice",
      handle: "robo",
    });
    expect(findMention(robo, "robo")).toBeNull();
    expect(robo).toContain("Mention `@robo`");
  });
});

describe("quoteMentions", () => {
  it("defuses only the handle, case-insensitively, on word boundaries", () => {
    expect(quoteMentions("@Inspect go, @inspector stays, @alice stays", "inspect")).toBe(
      "&#64;Inspect go, @inspector stays, @alice stays",
    );
  });

  it("leaves code and quotes as written (nothing there counts as a mention)", () => {
    const text =
      "Run `@inspect stop` to stop.\r\n\r\n```\n@inspect in code\n```\n\n> @inspect quoted\n\nbut @inspect here";
    const out = quoteMentions(text, "inspect");
    expect(out).toBe(
      "Run `@inspect stop` to stop.\n\n```\n@inspect in code\n```\n\n> @inspect quoted\n\nbut &#64;inspect here",
    );
    expect(findMention(out, "inspect")).toBeNull();
  });

  it("keeps other mentions at the start of a prompt line", () => {
    const body = pullRequestBody({
      sessionUrl: "u",
      prompts: [
        {
          author: "bob",
          text: "@alice's test is flaky, fix it",
          status: "queued",
          commits: [],
          summary: null,
          error: null,
          changedFiles: null,
        },
      ],
      closes: null,
      requestedBy: "bob",
      handle: "inspect",
    });
    expect(body).toContain("@bob: @alice's test is flaky, fix it");
  });
});

describe("checkRunOutput", () => {
  it("counts prompts, commits and files", () => {
    const out = checkRunOutput(
      { sessionUrl: "https://i.test/sessions/s1", prompts, closes: null, requestedBy: "alice", handle: "inspect" },
      { title: "Done" },
    );
    expect(out.title).toBe("Done");
    expect(out.summary).toMatch(/^\*\*2 prompt\(s\), 1 commit\(s\), 2 file change\(s\)\.\*\*/);
    expect(out.summary).not.toContain("Cost:");
  });

  it("carries the session's total cost and tokens; an unpriced prompt leaves it unknown, never $0", () => {
    const priced = [
      { ...prompts[0]!, usage: { inputTokens: 1000, outputTokens: 200, cost: 0.25 } },
      { ...prompts[1]!, usage: { inputTokens: 500, outputTokens: 100, cacheReadTokens: 200, cost: 0.5 } },
    ];
    const input = { sessionUrl: "u", closes: null, requestedBy: "alice", handle: "inspect" };
    expect(checkRunOutput({ ...input, prompts: priced }, { title: "Done" }).summary).toContain(
      "Cost: $0.75 · 2.0k tokens",
    );
    const unpriced = [{ ...prompts[0]!, usage: { inputTokens: 10, outputTokens: 5 } }];
    expect(checkRunOutput({ ...input, prompts: unpriced }, { title: "Done" }).summary).toContain(
      "Cost: unknown · 15 tokens",
    );
  });
});

describe("pullRequestBody for a session started from Slack", () => {
  const base = { sessionUrl: "u", prompts: [], closes: null, requestedBy: "a", handle: "inspect" };

  it("links the asking message, and writes no link that is not a plain https URL", () => {
    const link = "https://acme.slack.com/archives/C9/p1700000001000200";
    expect(pullRequestBody({ ...base, slack: { permalink: link } })).toContain(
      `Started from Slack: [the request](${link}).`,
    );
    const odd = pullRequestBody({ ...base, slack: { permalink: "https://x.slack.com/a) [click](https://evil" } });
    expect(odd).toContain("Started from Slack.");
    expect(odd).not.toContain("evil");
    expect(pullRequestBody({ ...base, slack: { permalink: null } })).toContain("Started from Slack.");
    expect(pullRequestBody(base)).not.toContain("Slack");
  });
});
