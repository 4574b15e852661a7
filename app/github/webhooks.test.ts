/**
 * Webhooks through the real Probot app and control plane, with GitHub's API
 * replaced at the HTTP boundary and the embedded database.
 */
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../db/client.js";
import { getDelivery, storeDelivery } from "../db/deliveries.js";
import { listPrompts } from "../db/prompts.js";
import { listSessions } from "../db/sessions.js";
import type { Inspect } from "../server.js";
import { FakeGitHub } from "../../test/support/fake-github.js";
import { deliver, githubEnv, signature, testInspect } from "../../test/support/inspect.js";
import { allExamples, issueComment, payload } from "../../test/support/payloads.js";
import { until } from "../../test/support/wait.js";

let database: Database;
let inspect: Inspect;
let gh: FakeGitHub;

beforeAll(async () => {
  database = await openDatabase({ dataDir: "memory://" });
  nock.disableNetConnect();
});
afterAll(async () => {
  nock.enableNetConnect();
  await database.close();
});
beforeEach(async () => {
  gh = new FakeGitHub();
  gh.permissions.set("alice", "write");
  gh.permissions.set("bob", "admin");
  gh.permissions.set("mallory", "read");
  inspect = await start();
});

/** The app as each test runs it: retries after tens of milliseconds, not seconds. */
const start = () => testInspect(githubEnv(), database, { inbox: { retryMs: 20, maxRetryMs: 100 } });
afterEach(async () => {
  await inspect.close();
  gh.close();
});

let issueNo = 100;
const nextIssue = () => ++issueNo;

async function send(name: string, body: unknown, opts?: { id?: string }) {
  const res = await deliver(inspect, name, body, opts);
  await inspect.tasks.drain();
  return res;
}

async function sessionFor(issue: number) {
  const all = await listSessions(database.db);
  return all.find((s) => s.threadNumber === issue);
}

const writes = () => gh.calls.filter((c) => c.method !== "GET" && !c.path.endsWith("/access_tokens"));

/** Deliveries whose work failed at least once since `since` (a failure is retried, not counted by tasks). */
async function troubled(since: Date) {
  const { rows } = (await database.db.execute(
    `SELECT id, event, last_error FROM webhook_deliveries WHERE last_error IS NOT NULL AND received_at >= '${since.toISOString()}'`,
  )) as unknown as { rows: unknown[] };
  return rows;
}

function pullRequestRoute(n?: number) {
  gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
    200,
    {
      number: Number(m[1]),
      state: "open",
      html_url: `https://github.com/acme/widgets/pull/${m[1]}`,
      head: { ref: `feature/${n ?? m[1]}`, sha: "abc1234", repo: { full_name: "acme/widgets" } },
      base: { ref: "main" },
    },
  ]);
}

describe("a mention from someone with write access", () => {
  it("acknowledges with 👀, posts one status comment with the live link, stores the prompt and dispatches a runner", async () => {
    const n = nextIssue();
    const res = await send(
      "issue_comment",
      issueComment("@inspect fix the crash\n\nplease", { issue: n, commentId: 777 }),
    );
    expect(res.status).toBe(200);

    const session = await sessionFor(n);
    expect(session).toMatchObject({
      status: "queued",
      threadKind: "issue",
      headBranch: `inspect/${n}-login-page-crashes`,
      baseBranch: "main",
      headExists: false,
    });
    const [prompt] = await listPrompts(database.db, session!.id);
    expect(prompt).toMatchObject({
      authorLogin: "alice",
      source: "github_comment",
      text: "@inspect fix the crash\n\nplease",
      commentId: 777,
      status: "queued",
    });
    // Untrusted thread text is stored without its hidden parts.
    expect(prompt!.context?.thread?.body).toBe("Steps: open /login ");

    const w = writes();
    expect(w[0]).toMatchObject({
      method: "POST",
      path: "/repos/acme/widgets/issues/comments/777/reactions",
      body: { content: "eyes" },
    });
    const comments = gh.find("POST", /\/issues\/\d+\/comments$/);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.path).toBe(`/repos/acme/widgets/issues/${n}/comments`);
    expect(comments[0]!.body.body).toContain(`https://inspect.test/sessions/${session!.id}`);
    expect(session!.statusCommentId).not.toBeNull();

    const dispatches = gh.find("POST", /dispatches$/);
    expect(dispatches).toHaveLength(1);
    expect(dispatches[0]).toMatchObject({
      path: "/repos/acme/inspect-runner/actions/workflows/inspect-runner.yml/dispatches",
      body: { ref: "main", inputs: { session_id: session!.id, control_plane_url: "https://inspect.test" } },
    });
    expect(Object.keys(dispatches[0]!.body.inputs)).toEqual(["session_id", "control_plane_url"]);
    expect(inspect.tasks.failures).toBe(0);
  });

  it("queues a follow-up on the thread's active session, in order and attributed", async () => {
    const n = nextIssue();
    await send("issue_comment", issueComment("@inspect first", { issue: n }));
    await send("issue_comment", issueComment("@inspect second", { issue: n, login: "bob", commentId: 6000 }));
    const sessions = (await listSessions(database.db)).filter((s) => s.threadNumber === n);
    expect(sessions).toHaveLength(1);
    const prompts = await listPrompts(database.db, sessions[0]!.id);
    expect(prompts.map((p) => [p.authorLogin, p.text])).toEqual([
      ["alice", "@inspect first"],
      ["bob", "@inspect second"],
    ]);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
    expect(gh.find("POST", /\/issues\/\d+\/comments$/)).toHaveLength(1);
    expect(gh.find("POST", /comments\/6000\/reactions$/)).toHaveLength(1);
  });

  it("stops the thread's session with @inspect stop, dropping queued prompts", async () => {
    const n = nextIssue();
    await send("issue_comment", issueComment("@inspect do a thing", { issue: n }));
    await send("issue_comment", issueComment("@inspect stop", { issue: n, commentId: 6100 }));
    const session = await sessionFor(n);
    expect(session).toMatchObject({ status: "stopped", statusReason: "stopped by @alice" });
    expect((await listPrompts(database.db, session!.id)).map((p) => p.status)).toEqual(["cancelled"]);
    const edits = gh.find("PATCH", /issues\/comments\/\d+$/);
    expect(edits.at(-1)!.body.body).toContain("Stopped");
  });

  it("starts from an assignment to the bot, with the issue as the prompt", async () => {
    const n = nextIssue();
    await send(
      "issues",
      payload("issues", "assigned", (p) => {
        p.issue.number = n;
        p.issue.title = "Add dark mode";
        p.issue.body = "Users want it.";
        p.assignee = { login: "inspect-app[bot]", id: 5, type: "Bot" };
      }),
    );
    const session = await sessionFor(n);
    expect(session?.headBranch).toBe(`inspect/${n}-add-dark-mode`);
    const [prompt] = await listPrompts(database.db, session!.id);
    expect(prompt).toMatchObject({ source: "github_assignment", text: "Add dark mode\n\nUsers want it." });
    expect(gh.find("POST", new RegExp(`/issues/${n}/reactions$`))).toHaveLength(1);
  });

  it("starts from an issue opened with a mention in its body, with the body as the prompt", async () => {
    const n = nextIssue();
    await send(
      "issues",
      payload("issues", "opened", (p) => {
        p.issue.number = n;
        p.issue.title = "Dark mode";
        p.issue.body = "Users want it.\n\n@inspect add a dark mode toggle";
      }),
    );
    const session = await sessionFor(n);
    expect(session).toMatchObject({
      status: "queued",
      threadKind: "issue",
      headBranch: `inspect/${n}-dark-mode`,
      headExists: false,
    });
    const prompts = await listPrompts(database.db, session!.id);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatchObject({
      authorLogin: "alice",
      source: "github_issue",
      text: "Users want it.\n\n@inspect add a dark mode toggle",
      commentId: null,
    });
    expect(gh.find("POST", new RegExp(`/issues/${n}/reactions$`))).toHaveLength(1);
    expect(gh.find("POST", new RegExp(`/issues/${n}/comments$`))).toHaveLength(1);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
  });

  it("starts from a same-repository pull request opened with a mention, on the PR's head branch", async () => {
    const n = nextIssue();
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: `https://github.com/acme/widgets/pull/${m[1]}`,
        head: { ref: "feature/opened", sha: "def5678", repo: { full_name: "acme/widgets" } },
        base: { ref: "main" },
      },
    ]);
    await send(
      "pull_request",
      payload("pull_request", "opened", (p) => {
        p.pull_request.number = n;
        p.pull_request.title = "Feature";
        p.pull_request.body = "@inspect write the tests for this";
        p.pull_request.head.ref = "feature/opened";
        p.pull_request.head.repo = {
          ...p.pull_request.head.repo,
          full_name: "acme/widgets",
          name: "widgets",
          owner: { ...p.pull_request.head.repo.owner, login: "acme" },
        };
      }),
    );
    const session = (await listSessions(database.db)).find(
      (s) => s.threadNumber === n && s.threadKind === "pull_request",
    );
    expect(session).toMatchObject({
      status: "queued",
      headBranch: "feature/opened",
      baseBranch: "main",
      headExists: true,
      prNumber: n,
    });
    const [prompt] = await listPrompts(database.db, session!.id);
    expect(prompt).toMatchObject({ source: "github_issue", text: "@inspect write the tests for this" });
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
  });

  it("hears the handle case-insensitively", async () => {
    const n = nextIssue();
    await send("issue_comment", issueComment("@INSPECT fix it", { issue: n }));
    const session = await sessionFor(n);
    expect(session?.status).toBe("queued");
    expect((await listPrompts(database.db, session!.id)).map((p) => p.text)).toEqual(["@INSPECT fix it"]);
  });

  it.each([
    ["maintain", true],
    ["triage", false],
  ] as const)("a user with the %s role may trigger: %s", async (role, may) => {
    const n = nextIssue();
    gh.permissions.set("carol", role);
    await send("issue_comment", issueComment("@inspect tidy up", { issue: n, login: "carol" }));
    expect(Boolean(await sessionFor(n))).toBe(may);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(may ? 1 : 0);
  });

  it("works on a pull request's own head branch, and refuses forks", async () => {
    const n = nextIssue();
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: `https://github.com/acme/widgets/pull/${m[1]}`,
        head: {
          ref: "feature/x",
          sha: "abc1234",
          repo: { full_name: Number(m[1]) === n ? "acme/widgets" : "evil/widgets" },
        },
        base: { ref: "develop" },
      },
    ]);
    await send("issue_comment", issueComment("@inspect add a test", { issue: n, pr: true }));
    expect(await sessionFor(n)).toMatchObject({
      threadKind: "pull_request",
      headBranch: "feature/x",
      baseBranch: "develop",
      headExists: true,
      prNumber: n,
    });

    const fork = nextIssue();
    await send("issue_comment", issueComment("@inspect add a test", { issue: fork, pr: true }));
    expect(await sessionFor(fork)).toBeUndefined();
    const reply = gh.find("POST", new RegExp(`/issues/${fork}/comments$`));
    expect(reply).toHaveLength(1);
    expect(reply[0]!.body.body).toMatch(/forks/);
  });

  it("carries review comment context (path, line, hunk) into the prompt", async () => {
    const n = nextIssue();
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: "https://github.com/acme/widgets/pull/1",
        head: { ref: "f", sha: "abc1234", repo: { full_name: "acme/widgets" } },
        base: { ref: "main" },
      },
    ]);
    await send(
      "pull_request_review_comment",
      payload("pull_request_review_comment", "created", (p) => {
        p.pull_request.number = n;
        p.comment.body = "@inspect rename this";
        p.comment.id = 4242;
        p.comment.path = "src/a.ts";
        p.comment.line = 3;
        p.comment.diff_hunk = "@@ -1 +1 @@";
      }),
    );
    const session = await sessionFor(n);
    const [prompt] = await listPrompts(database.db, session!.id);
    expect(prompt!.context?.review).toEqual({ path: "src/a.ts", line: 3, diffHunk: "@@ -1 +1 @@" });
    expect(gh.find("POST", /\/pulls\/comments\/4242\/reactions$/)).toHaveLength(1);
  });

  it("archives the session when its pull request closes", async () => {
    const n = nextIssue();
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: "https://github.com/acme/widgets/pull/1",
        head: { ref: "f", sha: "abc1234", repo: { full_name: "acme/widgets" } },
        base: { ref: "main" },
      },
    ]);
    await send("issue_comment", issueComment("@inspect go", { issue: n, pr: true }));
    await send(
      "pull_request",
      payload("pull_request", "closed", (p) => {
        p.pull_request.number = n;
        p.pull_request.merged = true;
      }),
    );
    expect(
      (await listSessions(database.db)).find((s) => s.threadNumber === n && s.threadKind === "pull_request"),
    ).toMatchObject({ status: "archived", statusReason: "pull request merged" });
  });

  it("fails the session with a clear message on GitHub when no runner can be dispatched", async () => {
    gh.on("POST", /dispatches$/, () => [404, { message: "Not Found" }]);
    const n = nextIssue();
    await send("issue_comment", issueComment("@inspect go", { issue: n }));
    const session = await sessionFor(n);
    expect(session?.status).toBe("failed");
    expect(session?.statusReason).toMatch(/^Could not start a runner: /);
    const edits = gh.find("PATCH", /issues\/comments\/\d+$/);
    expect(edits.at(-1)!.body.body).toMatch(/❌ Failed: Could not start a runner/);
  });
});

describe("what never triggers anything", () => {
  it("answers a user without write access once, politely, and runs nothing", async () => {
    const n = nextIssue();
    await send("issue_comment", issueComment("@inspect delete everything", { issue: n, login: "mallory" }));
    expect(await sessionFor(n)).toBeUndefined();
    const replies = gh.find("POST", /\/comments$/);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body.body).toMatch(/only people with write access/);
    expect(gh.find("POST", /reactions$|dispatches$/)).toHaveLength(0);
  });

  it.each([
    ["a fenced code block", "Try this:\n\n```\n@inspect do X\n```"],
    ["an inline code span", "Type `@inspect do X` to ask it"],
    ["a block quote", "> @inspect do X\n\nthat is how you ask"],
    ["a lazily continued block quote", "> someone wrote\n@inspect do X"],
    ["a URL", "see https://example.com/?q=a+@inspect+do"],
    ["a longer handle (@inspector)", "@inspector do X"],
  ])("ignores a mention inside %s: no session, no GitHub write", async (_what, body) => {
    const n = nextIssue();
    const res = await send("issue_comment", issueComment(body, { issue: n }));
    expect(res.status).toBe(200);
    expect(await sessionFor(n)).toBeUndefined();
    expect(writes()).toEqual([]);
    expect(inspect.tasks.failures).toBe(0);
  });

  it("does not let a user without write access stop someone's session", async () => {
    const n = nextIssue();
    await send("issue_comment", issueComment("@inspect do a thing", { issue: n }));
    await send("issue_comment", issueComment("@inspect stop", { issue: n, login: "mallory", commentId: 6200 }));
    const session = await sessionFor(n);
    expect(session?.status).toBe("queued");
    expect((await listPrompts(database.db, session!.id)).map((p) => p.status)).toEqual(["queued"]);
    expect(gh.find("POST", /comments\/6200\/reactions$/)).toHaveLength(0);
    const replies = gh.find("POST", new RegExp(`/issues/${n}/comments$`));
    expect(replies.at(-1)!.body.body).toMatch(/only people with write access/);
  });

  it("ignores bots, Inspect included", async () => {
    const n = nextIssue();
    await send(
      "issue_comment",
      issueComment("@inspect loop forever", { issue: n, login: "inspect-app[bot]", type: "Bot" }),
    );
    await send(
      "issue_comment",
      issueComment("@inspect bump deps", { issue: n, login: "dependabot[bot]", type: "Bot" }),
    );
    expect(await sessionFor(n)).toBeUndefined();
    expect(writes()).toHaveLength(0);
  });

  it("rejects a bad signature and writes nothing", async () => {
    const n = nextIssue();
    const body = issueComment("@inspect go", { issue: n });
    const res = await inspect.app.request("/api/github/webhooks", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issue_comment",
        "x-github-delivery": "bad-sig",
        "x-hub-signature-256": "sha256=" + "0".repeat(64),
      },
      body: JSON.stringify(body),
    });
    await inspect.tasks.drain();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await sessionFor(n)).toBeUndefined();
    expect(gh.calls).toHaveLength(0);
  });

  it("refuses a body over GitHub's 25 MB cap with 413, signed or not, and writes nothing", async () => {
    const n = nextIssue();
    // A valid, signed delivery, padded past the cap: only its size is wrong.
    const body = JSON.stringify({
      ...issueComment("@inspect go", { issue: n }),
      padding: "x".repeat(26 * 1024 * 1024),
    });
    const res = await inspect.app.request("/api/github/webhooks", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issue_comment",
        "x-github-delivery": "too-large",
        "x-hub-signature-256": signature(body),
      },
      body,
    });
    await inspect.tasks.drain();
    expect(res.status).toBe(413);
    expect(await sessionFor(n)).toBeUndefined();
    expect(gh.calls).toHaveLength(0);
  });

  it("treats a redelivery as the same event: no second session or prompt", async () => {
    const n = nextIssue();
    const body = issueComment("@inspect go", { issue: n });
    expect((await send("issue_comment", body, { id: "same-delivery" })).status).toBe(200);
    expect((await send("issue_comment", body, { id: "same-delivery" })).status).toBe(200);
    const session = await sessionFor(n);
    expect(await listPrompts(database.db, session!.id)).toHaveLength(1);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
  });
});

describe("no webhook lost", () => {
  it("retries a request whose permission check GitHub answered 502, until it goes through: one session, one 👀, one prompt", async () => {
    const n = nextIssue();
    let failures = 2;
    gh.on("GET", /collaborators\/alice\/permission$/, () =>
      failures-- > 0 ? [502, { message: "Bad Gateway" }] : [200, { permission: "write", role_name: "write" }],
    );
    const res = await send("issue_comment", issueComment("@inspect fix it", { issue: n, commentId: 7100 }));
    expect(res.status).toBe(200);
    const session = await until("the session", () => sessionFor(n), 10_000);
    await until("the delivery done", async () => (await doneDeliveries(n)) === 1, 10_000);
    expect(await listPrompts(database.db, session.id)).toHaveLength(1);
    expect(gh.find("GET", /collaborators\/alice\/permission$/)).toHaveLength(3);
    expect(gh.find("POST", /comments\/7100\/reactions$/)).toHaveLength(1);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
  });

  it("gives up on a permission check GitHub holds past the request deadline and retries it: the request goes through", async () => {
    await inspect.close();
    inspect = await testInspect(githubEnv(), database, {
      inbox: { retryMs: 20, maxRetryMs: 100 },
      githubTimeoutMs: 300,
    });
    const n = nextIssue();
    let stalls = 1;
    gh.on("GET", /collaborators\/alice\/permission$/, async () => {
      if (stalls-- > 0) await new Promise((r) => setTimeout(r, 3_000));
      return [200, { permission: "write", role_name: "write" }];
    });
    const t0 = Date.now();
    await send("issue_comment", issueComment("@inspect fix it", { issue: n }));
    await until("the session", () => sessionFor(n), 10_000);
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(gh.find("GET", /collaborators\/alice\/permission$/)).toHaveLength(2);
  });

  it("handles at the next start a delivery stored before the control plane died (after GitHub's 2xx, before the session)", async () => {
    const n = nextIssue();
    const body = issueComment("@inspect fix it", { issue: n, commentId: 7200 });
    // What the webhook route stored before answering; the process then died.
    await storeDelivery(database.db, {
      id: `died-${n}`,
      event: "issue_comment",
      payload: body,
      threadKey: `4242#${n}`,
    });
    await inspect.close();
    inspect = await start();
    const session = await until("the session after the restart", () => sessionFor(n), 10_000);
    await inspect.tasks.drain();
    expect(await listPrompts(database.db, session.id)).toHaveLength(1);
    expect(gh.find("POST", /comments\/7200\/reactions$/)).toHaveLength(1);
    expect((await getDelivery(database.db, `died-${n}`))?.doneAt).not.toBeNull();
  });

  it.each([
    ["a comment", (n: number) => ["issue_comment", issueComment("@inspect fix it", { issue: n, commentId: 7300 + n })]],
    [
      "an issue's body",
      (n: number) => [
        "issues",
        payload("issues", "opened", (p) => {
          p.issue.number = n;
          p.issue.body = "@inspect fix it";
        }),
      ],
    ],
  ] as const)(
    "has one effect when %s is taken again after its work was done but not yet marked done",
    async (_what, make) => {
      const n = nextIssue();
      const [name, body] = make(n) as [string, unknown];
      await send(name, body, { id: `twice-${n}` });
      const session = await sessionFor(n);
      expect(await listPrompts(database.db, session!.id)).toHaveLength(1);
      // The replica died between the work and the mark.
      await database.db.execute(`UPDATE webhook_deliveries SET done_at = NULL WHERE id = 'twice-${n}'`);
      await inspect.inbox!.sweep();
      await inspect.tasks.drain();
      expect(await getDelivery(database.db, `twice-${n}`)).toMatchObject({ attempts: 2, failedAt: null });
      expect((await getDelivery(database.db, `twice-${n}`))?.doneAt).not.toBeNull();
      expect(await listPrompts(database.db, session!.id)).toHaveLength(1);
      expect((await listSessions(database.db)).filter((s) => s.threadNumber === n)).toHaveLength(1);
      expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
    },
  );

  it("keeps a thread's requests in the order received across two replicas, the first one's permission check slowest", async () => {
    const n = nextIssue();
    let first = true;
    gh.on("GET", /collaborators\/(alice|bob)\/permission$/, async (m) => {
      if (first) {
        first = false;
        await new Promise((r) => setTimeout(r, 400));
      }
      return [200, { permission: m[1] === "bob" ? "admin" : "write", role_name: "write" }];
    });
    const other = await start();
    try {
      const replicas = [inspect, other];
      for (let i = 0; i < 6; i++) {
        const login = i % 2 ? "bob" : "alice";
        const res = await deliver(
          replicas[i % 2]!,
          "issue_comment",
          issueComment(`@inspect step ${i}`, { issue: n, login, commentId: 7400 + i }),
        );
        expect(res.status).toBe(200);
      }
      await until(
        "all six prompts",
        async () => {
          await Promise.all(replicas.map((r) => r.tasks.drain()));
          const session = await sessionFor(n);
          return session && (await listPrompts(database.db, session.id)).length === 6;
        },
        15_000,
      );
      const session = await sessionFor(n);
      expect((await listPrompts(database.db, session!.id)).map((p) => p.text)).toEqual(
        [0, 1, 2, 3, 4, 5].map((i) => `@inspect step ${i}`),
      );
      expect((await listSessions(database.db)).filter((s) => s.threadNumber === n)).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

describe("requests in a review's summary", () => {
  it("starts a session from a review submitted with a mention, 👀 on the pull request", async () => {
    const n = nextIssue();
    pullRequestRoute();
    await send(
      "pull_request_review",
      payload("pull_request_review", "submitted", (p) => {
        p.pull_request.number = n;
        p.review.body = "Looks close. @inspect rename the helper and fix the nits";
        p.review.user = p.sender;
      }),
    );
    const session = (await listSessions(database.db)).find(
      (s) => s.threadNumber === n && s.threadKind === "pull_request",
    );
    expect(session).toMatchObject({ headBranch: `feature/${n}`, headExists: true, prNumber: n });
    const [prompt] = await listPrompts(database.db, session!.id);
    expect(prompt).toMatchObject({
      authorLogin: "alice",
      source: "github_review_comment",
      text: "Looks close. @inspect rename the helper and fix the nits",
    });
    expect(gh.find("POST", new RegExp(`/issues/${n}/reactions$`))).toHaveLength(1);
  });

  it("ignores a review without a mention, and stops on `@inspect stop` in one", async () => {
    const n = nextIssue();
    pullRequestRoute();
    const review = (body: string | null) =>
      payload("pull_request_review", "submitted", (p) => {
        p.pull_request.number = n;
        p.review.body = body;
      });
    await send("pull_request_review", review(null));
    expect(writes()).toEqual([]);
    await send("issue_comment", issueComment("@inspect go", { issue: n, pr: true }));
    await send("pull_request_review", review("@inspect stop"));
    expect(
      (await listSessions(database.db)).find((s) => s.threadNumber === n && s.threadKind === "pull_request"),
    ).toMatchObject({ status: "stopped" });
  });
});

describe("what a non-writer cannot do", () => {
  it.each([
    [
      "closing the issue",
      (n: number, login: string) =>
        // The examples have no issues.closed: an opened one, closed.
        payload("issues", "opened", (p) => {
          p.action = "closed";
          p.issue.number = n;
          p.issue.state = "closed";
          p.sender.login = login;
        }),
    ],
    [
      "unassigning the bot",
      (n: number, login: string) =>
        payload("issues", "unassigned", (p) => {
          p.issue.number = n;
          p.assignee = { login: "inspect-app[bot]", id: 5, type: "Bot" };
          p.sender.login = login;
        }),
    ],
  ] as const)("does not stop a writer's session by %s, silently; a writer doing it does", async (_what, make) => {
    const n = nextIssue();
    await send("issue_comment", issueComment("@inspect do a thing", { issue: n }));
    await send("issues", make(n, "mallory"));
    expect((await sessionFor(n))?.status).toBe("queued");
    expect(gh.find("POST", new RegExp(`/issues/${n}/comments$`))).toHaveLength(1); // the status comment only
    await send("issues", make(n, "bob"));
    expect((await sessionFor(n))?.status).toBe("stopped");
  });

  it("answers someone who keeps mentioning the bot once per thread, not once per comment", async () => {
    const [a, b] = [nextIssue(), nextIssue()];
    for (let i = 0; i < 3; i++)
      await send("issue_comment", issueComment(`@inspect please ${i}`, { issue: a, login: "mallory" }));
    await send("issue_comment", issueComment("@inspect stop", { issue: a, login: "mallory" }));
    await send("issue_comment", issueComment("@inspect please", { issue: b, login: "mallory" }));
    expect(gh.find("POST", new RegExp(`/issues/${a}/comments$`))).toHaveLength(1);
    expect(gh.find("POST", new RegExp(`/issues/${b}/comments$`))).toHaveLength(1);
  });
});

describe("every real example payload", () => {
  const examples = allExamples([
    "issue_comment",
    "issues",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
  ]);
  it(`goes through the app without an unhandled error (${examples.length} payloads)`, async () => {
    const since = new Date(Date.now() - 1_000);
    gh.on("GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: "https://github.com/x/y/pull/1",
        head: { ref: "f", sha: "abc1234", repo: { full_name: "Codertocat/Hello-World" } },
        base: { ref: "main" },
      },
    ]);
    gh.permissions.set("Codertocat", "admin");
    for (const e of examples) {
      const body = structuredClone(e.payload);
      body.installation ??= { id: 77 };
      const res = await send(e.name, body);
      expect(res.status, `${e.name}.${e.action}`).toBe(200);
    }
    expect(inspect.tasks.failures).toBe(0);
    expect(await troubled(since)).toEqual([]);
  });

  it("goes through the prompt path without an unhandled error when every body mentions @inspect", async () => {
    gh.on("GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: "https://github.com/x/y/pull/1",
        head: { ref: "f", sha: "abc1234", repo: { full_name: "Codertocat/Hello-World" } },
        base: { ref: "main" },
      },
    ]);
    gh.permissions.set("Codertocat", "admin");
    const since = new Date(Date.now() - 1_000);
    const text = "@inspect do the thing";
    const before = await promptsSaying(text);
    let mentioning = 0;
    for (const [i, e] of examples.entries()) {
      const body = structuredClone(e.payload);
      body.installation ??= { id: 77 };
      for (const holder of [body.comment, body.issue, body.pull_request, body.review])
        if (holder && typeof holder === "object") holder.body = text;
      // A thread of its own per payload: requests repeated on one issue are (rightly) one request.
      for (const thread of [body.issue, body.pull_request])
        if (thread && typeof thread === "object") thread.number = 60_000 + i;
      if (
        [
          "issue_comment.created",
          "issues.opened",
          "pull_request.opened",
          "pull_request_review_comment.created",
          "pull_request_review.submitted",
        ].includes(`${e.name}.${e.action}`)
      )
        mentioning++;
      const res = await send(e.name, body);
      expect(res.status, `${e.name}.${e.action}`).toBe(200);
      expect(inspect.tasks.failures, `${e.name}.${e.action}`).toBe(0);
    }
    // Every payload that can carry a request reached the prompt store.
    expect(mentioning).toBeGreaterThan(0);
    expect((await promptsSaying(text)) - before).toBe(mentioning);
    expect(await troubled(since)).toEqual([]);
  });
});

/** How many deliveries about thread `n` are done. */
async function doneDeliveries(n: number): Promise<number> {
  const { rows } = (await database.db.execute(
    `SELECT count(*)::int AS c FROM webhook_deliveries WHERE thread_key = '4242#${n}' AND done_at IS NOT NULL`,
  )) as unknown as { rows: { c: number }[] };
  return rows[0]!.c;
}

async function promptsSaying(text: string): Promise<number> {
  let count = 0;
  for (const s of await listSessions(database.db, { limit: 10_000 }))
    count += (await listPrompts(database.db, s.id)).filter((p) => p.text === text).length;
  return count;
}
