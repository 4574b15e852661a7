/**
 * Closing the loop on GitHub: from a comment on an issue to a draft PR opened
 * by the commenter, a live check run, a current status comment, and follow-ups
 * that land on the same PR — with GitHub replaced at the HTTP boundary and this
 * test acting as the runner through the real runner API.
 */
import Bottleneck from "bottleneck";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { sealToken } from "../auth/crypto.js";
import { InspectOctokit } from "./octokit.js";
import { upsertUser } from "../db/accounts.js";
import type { Database } from "../db/client.js";
import { listPrompts } from "../db/prompts.js";
import { getSession, listSessions } from "../db/sessions.js";
import { CheckRuns } from "./check-runs.js";
import { GitHubIntake } from "./intake.js";
import { PermissionCache } from "./permissions.js";
import { parseTrigger } from "./triggers.js";
import { findMention } from "./mention.js";
import type { Inspect } from "../server.js";
import type { FakeGitHub } from "../../test/support/fake-github.js";
import { useGitHubStack } from "../../test/support/github-stack.js";
import { deliver } from "../../test/support/inspect.js";
import { issueComment, payload } from "../../test/support/payloads.js";

const SECRET = "s".repeat(40);
const stack = useGitHubStack({ env: { INSPECT_SECRET: SECRET }, permissions: { alice: "write", bob: "write" } });
const runner = stack.runner;
let database: Database;
let inspect: Inspect;
let gh: FakeGitHub;
beforeEach(() => {
  ({ database, inspect, gh } = stack);
});

let issueNo = 900;
async function start(text = "@inspect fix the crash", login = "alice") {
  const n = ++issueNo;
  await deliver(inspect, "issue_comment", issueComment(text, { issue: n, login, commentId: n * 10 }));
  await inspect.tasks.drain();
  const session = (await listSessions(database.db)).find((s) => s.threadNumber === n)!;
  const { sessionToken } = await runner.claim(session.id);
  return { n, id: session.id, token: sessionToken };
}
const drain = () => inspect.tasks.drain();

describe("pull requests", () => {
  it("opens one draft PR on the first push, as the app when the requester has not signed in, with Closes #N", async () => {
    const { n, id, token } = await start();
    const prompt = await runner.take(id, token);
    await drain();
    // Picked up: 🚀 on the comment that asked.
    expect(gh.find("POST", new RegExp(`/issues/comments/${n * 10}/reactions$`)).map((c) => c.body.content)).toEqual([
      "eyes",
      "rocket",
    ]);

    // While working, the status comment says what the agent is doing.
    await runner.call(`/sessions/${id}/events`, token, {
      body: {
        events: [{ type: "tool.call", data: { callId: "c1", tool: "bash", status: "running", title: "npm test" } }],
      },
    });
    await drain();
    expect(gh.find("PATCH", /\/issues\/comments\/\d+$/).at(-1)!.body.body).toContain("⚙️ Working: npm test");

    // Concurrent pushes (a retrying runner) never open two PRs.
    await Promise.all([
      runner.push(id, token, "aaaaaaa"),
      runner.push(id, token, "aaaaaaa"),
      runner.push(id, token, "aaaaaaa"),
    ]);
    await drain();
    const created = gh.find("POST", /\/pulls$/);
    expect(created).toHaveLength(1);
    expect(created[0]!.body).toMatchObject({
      head: `inspect/${n}-login-page-crashes`,
      base: "main",
      draft: true,
      title: "Login page crashes",
    });
    expect(created[0]!.body.body).toContain(`Closes #${n}`);
    expect(created[0]!.body.body).toContain(`https://inspect.test/sessions/${id}`);
    expect(created[0]!.auth).toMatch(/^token ghs_installation_77/);

    const session = await getSession(database.db, id);
    expect(session?.prNumber).toBeGreaterThan(0);
    const events = await inspect.sessions.deps.events.list(id);
    expect(events.filter((e) => e.type === "pr.opened")).toHaveLength(1);

    // The turn ends: the PR body is refreshed with the summary, the status comment shows the PR.
    await runner.done(id, token, prompt.id, {
      status: "done",
      commits: [{ sha: "aaaaaaa", message: "fix" }],
      summary: "Fixed the null check.",
      changedFiles: 1,
    });
    await drain();
    const bodyEdit = gh.find("PATCH", new RegExp(`/pulls/${session!.prNumber}$`)).at(-1)!;
    expect(bodyEdit.body.body.startsWith("Fixed the null check.")).toBe(true);
    const status = gh.find("PATCH", /\/issues\/comments\/\d+$/).at(-1)!;
    expect(status.body.body).toContain(session!.prUrl!);
  });

  it("opens the PR with the requester's own OAuth token when they signed in, falling back to the app if it is refused", async () => {
    await upsertUser(database.db, { login: "bob", githubId: 2002 });
    const user = await upsertUser(database.db, { login: "bob" });
    await database.db.execute(
      `UPDATE users SET oauth_token = '${sealToken(SECRET, "gho_bob_token")}' WHERE id = ${user.id}`,
    );

    const first = await start("@inspect add docs", "bob");
    await runner.take(first.id, first.token);
    await runner.push(first.id, first.token, "bbbbbbb");
    await drain();
    const byUser = gh.find("POST", /\/pulls$/);
    expect(byUser).toHaveLength(1);
    expect(byUser[0]!.auth).toBe("token gho_bob_token");

    // A revoked token: the PR is still opened, by the app.
    gh.on("POST", /\/pulls$/, (_m, _b, call) =>
      call.auth === "token gho_bob_token"
        ? [401, { message: "Bad credentials" }]
        : [201, { number: 4321, html_url: "https://github.com/acme/widgets/pull/4321" }],
    );
    const second = await start("@inspect add more docs", "bob");
    await runner.take(second.id, second.token);
    await runner.push(second.id, second.token, "ccccccc");
    await drain();
    expect((await getSession(database.db, second.id))?.prNumber).toBe(4321);
    expect(
      gh
        .find("POST", /\/pulls$/)
        .slice(1)
        .map((c) => (c.auth.startsWith("token gho_") ? "user" : "app")),
    ).toEqual(["user", "app"]);
  });

  it("never takes the PR it opened with the requester's token for a new request, even if its body mentions the bot", async () => {
    const user = await upsertUser(database.db, { login: "bob", githubId: 2002 });
    await database.db.execute(
      `UPDATE users SET oauth_token = '${sealToken(SECRET, "gho_bob_token")}' WHERE id = ${user.id}`,
    );
    const { id, token } = await start("@inspect add docs, then ask @inspect for tests", "bob");
    await runner.take(id, token);
    await runner.push(id, token, "9090909");
    await drain();
    const opened = gh.find("POST", /\/pulls$/)[0]!;
    expect(opened.auth).toBe("token gho_bob_token");
    // Our own body carries no mention, though the prompt it quotes does.
    expect(findMention(opened.body.body, "inspect")).toBeNull();

    const session = (await getSession(database.db, id))!;
    const sessionsBefore = (await listSessions(database.db)).length;
    const promptsBefore = (await listPrompts(database.db, id)).length;
    const writesBefore = gh.calls.filter((c) => c.method !== "GET").length;
    // GitHub tells us bob opened a PR (he did, through us) — once with our body, once with a body that slipped a mention.
    for (const body of [opened.body.body as string, "@inspect please do everything again"]) {
      await deliver(
        inspect,
        "pull_request",
        payload("pull_request", "opened", (p) => {
          p.pull_request.number = session.prNumber;
          p.pull_request.body = body;
          p.pull_request.head = {
            ...p.pull_request.head,
            ref: session.headBranch,
            repo: { ...p.pull_request.head.repo, full_name: "acme/widgets" },
          };
          p.sender.login = "bob";
        }),
      );
      await drain();
    }
    expect((await listSessions(database.db)).length).toBe(sessionsBefore);
    expect((await listPrompts(database.db, id)).length).toBe(promptsBefore);
    expect(gh.calls.filter((c) => c.method !== "GET").length).toBe(writesBefore);
  });

  it("says why when the PR cannot be opened at the push, and opens it when the turn ends", async () => {
    gh.on("POST", /\/pulls$/, () => [500, { message: "Server Error" }]);
    const { id, token } = await start();
    const prompt = await runner.take(id, token);
    await runner.push(id, token, "5050505");
    await drain();
    const events = await inspect.sessions.deps.events.list(id);
    expect(events.filter((e) => e.type === "error").map((e) => (e.data as { code?: string }).code)).toContain(
      "pr_open_failed",
    );
    expect((await getSession(database.db, id))?.prNumber).toBeNull();

    gh.on("POST", /\/pulls$/, () => [201, { number: 6060, html_url: "https://github.com/acme/widgets/pull/6060" }]);
    await runner.done(id, token, prompt.id, { status: "done", commits: [{ sha: "5050505", message: "fix" }] });
    await drain();
    expect((await getSession(database.db, id))?.prNumber).toBe(6060);
  });

  it("adopts an existing PR for the branch instead of failing", async () => {
    gh.on("POST", /\/pulls$/, () => [
      422,
      { message: "Validation Failed", errors: [{ message: "A pull request already exists" }] },
    ]);
    gh.on("GET", /\/pulls$/, () => [200, [{ number: 77, html_url: "https://github.com/acme/widgets/pull/77" }]]);
    const { id, token } = await start();
    await runner.take(id, token);
    await runner.push(id, token, "ddddddd");
    await drain();
    expect(await getSession(database.db, id)).toMatchObject({
      prNumber: 77,
      prUrl: "https://github.com/acme/widgets/pull/77",
    });
  });
});

describe("the check run", () => {
  it("is in progress with a Stop button while working, and completes at the end of the turn", async () => {
    const { id, token } = await start();
    const prompt = await runner.take(id, token);
    await drain();
    // An issue's session has no commit of its own until it pushes: no check run yet.
    expect(gh.find("POST", /\/check-runs$/)).toHaveLength(0);
    await runner.push(id, token, "eeeeeee");
    await drain();
    const created = gh.find("POST", /\/check-runs$/);
    expect(created).toHaveLength(1);
    expect(created[0]!.body).toMatchObject({
      name: "Inspect",
      head_sha: "eeeeeee",
      status: "in_progress",
      details_url: `https://inspect.test/sessions/${id}`,
      actions: [{ identifier: "stop", label: "Stop" }],
    });
    expect(created[0]!.body.output.summary).toContain("@alice");

    await runner.done(id, token, prompt.id, {
      status: "done",
      commits: [{ sha: "eeeeeee", message: "m" }],
      changedFiles: 3,
    });
    await drain();
    const last = gh.find("PATCH", /\/check-runs\/\d+$/).at(-1)!;
    expect(last.body).toMatchObject({ status: "completed", conclusion: "success", actions: [] });
    expect(last.body.output.summary).toMatch(/1 commit\(s\), 3 file change\(s\)/);
  });

  it("is on the PR's head commit from the start when the session works on a pull request", async () => {
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: `https://github.com/acme/widgets/pull/${m[1]}`,
        head: { ref: "feature/x", sha: "4e4d5e6", repo: { full_name: "acme/widgets" } },
        base: { ref: "main" },
      },
    ]);
    const n = ++issueNo;
    await deliver(inspect, "issue_comment", issueComment("@inspect fix the lint errors", { issue: n, pr: true }));
    await drain();
    // Before any runner has pushed anything.
    const created = gh.find("POST", /\/check-runs$/);
    expect(created).toHaveLength(1);
    expect(created[0]!.body).toMatchObject({ head_sha: "4e4d5e6", status: "in_progress" });
    expect(created[0]!.body.output.title).toBe("Starting a sandbox");
  });

  it("is created once when two replicas sync the same session at the same moment", async () => {
    const { id, token } = await start();
    await runner.take(id, token);
    // Give the session a head commit without letting this replica's reporter sync it first.
    await database.db.execute(`UPDATE sessions SET head_sha = '7777777' WHERE id = '${id}'`);
    const replica = () =>
      new CheckRuns({ db: database.db, config: inspect.config, github: inspect.github!, sessions: inspect.sessions });
    const before = gh.find("POST", /\/check-runs$/).length;
    await Promise.all([replica().sync(id), replica().sync(id), replica().sync(id)]);
    expect(gh.find("POST", /\/check-runs$/).length - before).toBe(1);
    // A failed creation releases the claim: the next sync creates the run.
    await database.db.execute(`UPDATE sessions SET head_sha = '8888888' WHERE id = '${id}'`);
    gh.on("POST", /\/check-runs$/, () => [422, { message: "No commit found for SHA" }]);
    await expect(replica().sync(id)).rejects.toThrow();
    gh.on("POST", /\/check-runs$/, () => [201, { id: 999 }]);
    await replica().sync(id);
    expect((await getSession(database.db, id))?.checkRunSha).toBe("8888888");
  });

  it("completes as failure with the reason when the turn fails", async () => {
    const { id, token } = await start();
    const prompt = await runner.take(id, token);
    await runner.push(id, token, "fffffff");
    await runner.done(id, token, prompt.id, { status: "failed", error: "the model returned 400: context too long" });
    await drain();
    const last = gh.find("PATCH", /\/check-runs\/\d+$/).at(-1)!;
    expect(last.body).toMatchObject({ conclusion: "failure" });
    expect(last.body.output.title).toContain("context too long");
  });

  it("stops the session from its Stop button, and re-runs the last prompt on Re-run", async () => {
    const { id, token } = await start("@inspect make it faster");
    const prompt = await runner.take(id, token);
    await runner.push(id, token, "1234567");
    await drain();
    const checkRunId = (await getSession(database.db, id))!.checkRunId!;
    const action = (name: string) =>
      payload("check_run", name, (p) => {
        p.check_run.id = checkRunId;
        if (name === "requested_action") p.requested_action = { identifier: "stop" };
      });

    await deliver(inspect, "check_run", action("requested_action"));
    await drain();
    expect(await getSession(database.db, id)).toMatchObject({
      status: "stopped",
      statusReason: "stopped by @alice from the check run",
    });
    expect(await runner.next(id, token)).toEqual({ kind: "stop", promptId: prompt.id });
    await runner.done(id, token, prompt.id, { status: "stopped" });
    await drain();
    expect(gh.find("PATCH", /\/check-runs\/\d+$/).at(-1)!.body).toMatchObject({ conclusion: "cancelled" });

    await deliver(inspect, "check_run", action("rerequested"));
    await drain();
    const prompts = await listPrompts(database.db, id);
    expect(prompts.at(-1)).toMatchObject({
      text: "@inspect make it faster",
      source: "rerun",
      status: "queued",
      authorLogin: "alice",
    });
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect(gh.find("POST", /dispatches$/)).toHaveLength(2);
  });
});

describe("an older check run", () => {
  it("still re-runs the session after a newer commit superseded it", async () => {
    const { id, token } = await start("@inspect tidy the imports");
    const prompt = await runner.take(id, token);
    await runner.push(id, token, "a1a1a1a");
    await drain();
    const older = (await getSession(database.db, id))!.checkRunId!;
    await runner.push(id, token, "b2b2b2b");
    await runner.done(id, token, prompt.id, { status: "done", commits: [{ sha: "b2b2b2b", message: "tidy" }] });
    await drain();
    expect((await getSession(database.db, id))!.checkRunId).not.toBe(older);

    const rerun = (externalId: string) =>
      payload("check_run", "rerequested", (p) => {
        p.check_run.id = older;
        p.check_run.external_id = externalId;
      });
    // Another session's link, or one from another host, is not taken at its word.
    await deliver(inspect, "check_run", rerun("https://elsewhere.test/sessions/" + id));
    await drain();
    expect((await listPrompts(database.db, id)).filter((p) => p.source === "rerun")).toEqual([]);
    await deliver(inspect, "check_run", rerun(`https://inspect.test/sessions/${id}`));
    await drain();
    expect((await listPrompts(database.db, id)).at(-1)).toMatchObject({
      source: "rerun",
      text: "@inspect tidy the imports",
      status: "queued",
    });
  });
});

describe("the conversation", () => {
  it("continues after the runner exited: a comment on the PR starts a new run on the same branch, with history", async () => {
    const { n, id, token } = await start();
    const first = await runner.take(id, token);
    await runner.push(id, token, "abcabca");
    await runner.done(id, token, first.id, {
      status: "done",
      commits: [{ sha: "abcabca", message: "fix" }],
      summary: "Fixed it.",
    });
    await runner.exit(id, token, "idle");
    await drain();
    const session = (await getSession(database.db, id))!;
    expect(session.status).toBe("completed");
    expect(session.threadNumber).toBe(n);

    // Bob comments on the PR the session opened (a different thread number).
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: session.prUrl,
        head: { ref: session.headBranch, sha: "abcabca", repo: { full_name: "acme/widgets" } },
        base: { ref: "main" },
      },
    ]);
    await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect also handle empty input", {
        issue: session.prNumber!,
        pr: true,
        login: "bob",
        commentId: 31337,
      }),
    );
    await drain();
    expect((await listSessions(database.db)).filter((s) => s.prNumber === session.prNumber)).toHaveLength(1);
    expect((await getSession(database.db, id))?.status).toBe("queued");

    const again = await runner.claim(id);
    expect(again.session).toMatchObject({ headBranch: session.headBranch, headExists: true });
    const second = await runner.take(id, again.sessionToken);
    expect(second.author.login).toBe("bob");
    expect(second.text).toContain("Earlier in this session");
    expect(second.text).toContain("@alice: @inspect fix the crash → done (commits abcabca)");
    await runner.push(id, again.sessionToken, "defdefd");
    await runner.done(id, again.sessionToken, second.id, {
      status: "done",
      commits: [{ sha: "defdefd", message: "empty input" }],
    });
    await drain();
    // Same PR, second commit; no second PR.
    expect(gh.find("POST", /\/pulls$/)).toHaveLength(1);
    expect((await getSession(database.db, id))?.headSha).toBe("defdefd");
    // The first check run completed with the first turn; the new run got a fresh one, which moved to the new head commit.
    expect(gh.find("POST", /\/check-runs$/).map((c) => c.body.head_sha)).toEqual(["abcabca", "abcabca", "defdefd"]);
  });

  it("archives when the PR closes and tells a live runner to exit; unassigning or closing the issue stops", async () => {
    const a = await start();
    await runner.take(a.id, a.token);
    await runner.push(a.id, a.token, "1111111");
    await drain();
    const pr = (await getSession(database.db, a.id))!.prNumber!;
    await deliver(
      inspect,
      "pull_request",
      payload("pull_request", "closed", (p) => {
        p.pull_request.number = pr;
        p.pull_request.merged = false;
      }),
    );
    await drain();
    expect(await getSession(database.db, a.id)).toMatchObject({
      status: "archived",
      statusReason: "pull request closed",
    });
    const stop = await runner.next(a.id, a.token);
    expect(stop.kind).toBe("stop");
    // Once the turn has ended, the live runner is told to exit.
    await runner.done(a.id, a.token, (stop as { promptId: number }).promptId, { status: "stopped" });
    expect((await runner.next(a.id, a.token)).kind).toBe("exit");

    const b = await start();
    await deliver(
      inspect,
      "issues",
      payload("issues", "unassigned", (p) => {
        p.issue.number = b.n;
        p.assignee = { login: "inspect-app[bot]", id: 9, type: "Bot" };
      }),
    );
    await drain();
    expect(await getSession(database.db, b.id)).toMatchObject({
      status: "stopped",
      statusReason: "unassigned by @alice",
    });

    const c = await start();
    // (The examples have no issues.closed payload; an opened one with its action changed is the same shape.)
    await deliver(
      inspect,
      "issues",
      payload("issues", "opened", (p) => {
        p.action = "closed";
        p.issue.number = c.n;
      }),
    );
    await drain();
    expect(await getSession(database.db, c.id)).toMatchObject({
      status: "stopped",
      statusReason: "issue closed by @alice",
    });
  });

  it("queues follow-ups on an idle session in order, attributed to their authors, with 👀 then 🚀", async () => {
    const { n, id, token } = await start();
    const first = await runner.take(id, token);
    await runner.done(id, token, first.id, { status: "done" });
    await drain();
    expect((await getSession(database.db, id))?.status).toBe("idle");

    await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect now the tests", { issue: n, login: "bob", commentId: n * 10 + 1 }),
    );
    await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect and the docs", { issue: n, login: "alice", commentId: n * 10 + 2 }),
    );
    await drain();
    expect((await listSessions(database.db)).filter((s) => s.threadNumber === n)).toHaveLength(1);
    expect(gh.find("POST", new RegExp(`/issues/comments/${n * 10 + 1}/reactions$`)).map((c) => c.body.content)).toEqual(
      ["eyes"],
    );

    // The idle runner gets them one at a time, in the order they were written.
    const second = await runner.take(id, token);
    expect(second.author.login).toBe("bob");
    expect(second.text).toContain("now the tests");
    await drain();
    expect(gh.find("POST", new RegExp(`/issues/comments/${n * 10 + 1}/reactions$`)).map((c) => c.body.content)).toEqual(
      ["eyes", "rocket"],
    );
    await runner.done(id, token, second.id, { status: "done" });
    const third = await runner.take(id, token);
    expect(third.author.login).toBe("alice");
    expect(third.text).toContain("and the docs");
  });

  it("queues a review comment on the session's PR as a follow-up carrying the file, line and hunk", async () => {
    const { id, token } = await start();
    const first = await runner.take(id, token);
    await runner.push(id, token, "3131313");
    await drain();
    const session = (await getSession(database.db, id))!;
    await deliver(
      inspect,
      "pull_request_review_comment",
      payload("pull_request_review_comment", "created", (p) => {
        p.pull_request.number = session.prNumber;
        p.pull_request.head = { ...p.pull_request.head, ref: session.headBranch };
        p.comment.body = "@inspect use a constant here";
        p.comment.id = 7_000_001;
        p.comment.path = "src/login.ts";
        p.comment.line = 12;
        p.comment.diff_hunk = "@@ -10,3 +10,3 @@";
        p.sender.login = "bob";
      }),
    );
    await drain();
    expect(
      (await listSessions(database.db)).filter(
        (s) =>
          s.prNumber === session.prNumber || (s.threadKind === "pull_request" && s.threadNumber === session.prNumber),
      ),
    ).toHaveLength(1);
    const prompts = await listPrompts(database.db, id);
    expect(prompts.at(-1)).toMatchObject({
      authorLogin: "bob",
      source: "github_review_comment",
      status: "queued",
      context: { review: { path: "src/login.ts", line: 12, diffHunk: "@@ -10,3 +10,3 @@" } },
    });
    expect(gh.find("POST", /\/pulls\/comments\/7000001\/reactions$/).map((c) => c.body.content)).toEqual(["eyes"]);
    // The runner gets it after the turn in progress, with the review context in the prompt text.
    await runner.done(id, token, first.id, { status: "done" });
    const next = await runner.take(id, token);
    expect(next.author.login).toBe("bob");
    expect(next.text).toContain("src/login.ts");
    expect(next.text).toContain("@@ -10,3 +10,3 @@");
  });

  it("refuses a review comment on a pull request from a fork, starting nothing", async () => {
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: "x",
        head: { ref: "patch-1", sha: "f0f0f0f", repo: { full_name: "mallory/widgets" } },
        base: { ref: "main" },
      },
    ]);
    const n = ++issueNo;
    await deliver(
      inspect,
      "pull_request_review_comment",
      payload("pull_request_review_comment", "created", (p) => {
        p.pull_request.number = n;
        p.comment.body = "@inspect run the build";
      }),
    );
    await drain();
    expect((await listSessions(database.db)).filter((s) => s.threadNumber === n)).toEqual([]);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(0);
    expect(gh.find("POST", new RegExp(`/issues/${n}/comments$`)).map((c) => c.body.body)).toEqual([
      expect.stringMatching(/forks/),
    ]);
  });

  it("keeps one session per thread when an issue is opened assigned to the bot and mentioning it", async () => {
    const n = ++issueNo;
    const opened = payload("issues", "opened", (p) => {
      p.issue.number = n;
      p.issue.title = "Add a dark mode";
      p.issue.body = "@inspect add a dark mode toggle";
    });
    const assigned = payload("issues", "assigned", (p) => {
      p.issue.number = n;
      p.issue.title = "Add a dark mode";
      p.issue.body = "@inspect add a dark mode toggle";
      p.assignee = { login: "inspect-app[bot]", id: 9, type: "Bot" };
    });
    await Promise.all([deliver(inspect, "issues", opened), deliver(inspect, "issues", assigned)]);
    await drain();
    const onThread = (await listSessions(database.db)).filter((s) => s.threadKind === "issue" && s.threadNumber === n);
    expect(onThread).toHaveLength(1);
    // One request, not the same work twice.
    expect(await listPrompts(database.db, onThread[0]!.id)).toHaveLength(1);
    // One status comment for the one session.
    expect(gh.find("POST", new RegExp(`/issues/${n}/comments$`))).toHaveLength(1);
  });

  it("keeps one session per thread when two replicas take two comments on a pull request at the same moment", async () => {
    // Two replicas: two intakes (each with its own in-process queue and caches) on one database.
    const logged: string[] = [];
    const replica = () =>
      new GitHubIntake({
        db: database.db,
        config: inspect.config,
        github: inspect.github!,
        permissions: new PermissionCache(inspect.github!),
        sessions: inspect.sessions,
        tasks: inspect.tasks,
        log: {
          info: (_o: unknown, m?: string) => void logged.push(String(m)),
          warn: () => {},
          error: () => {},
          debug: () => {},
        } as never,
      });
    // Both have found no session on the thread and are asking GitHub about the PR before either creates one.
    let waiting = 0;
    let release!: () => void;
    const both = new Promise<void>((r) => (release = r));
    gh.on("GET", /^\/repos\/acme\/widgets\/pulls\/(\d+)$/, async (m) => {
      if (++waiting === 2) release();
      await both;
      return [
        200,
        {
          number: Number(m[1]),
          state: "open",
          html_url: `https://github.com/acme/widgets/pull/${m[1]}`,
          head: { ref: "feature/y", sha: "5e5e5e5", repo: { full_name: "acme/widgets" } },
          base: { ref: "main" },
        },
      ];
    });
    const n = ++issueNo;
    const comment = (text: string, login: string, id: number) =>
      parseTrigger("issue_comment", issueComment(text, { issue: n, pr: true, login, commentId: id }), {
        handle: "inspect",
        botLogin: "inspect-app[bot]",
      });
    const outcomes = await Promise.all([
      replica().handle(comment("@inspect fix the lint", "alice", n * 10 + 1)),
      replica().handle(comment("@inspect and the types", "bob", n * 10 + 2)),
    ]);
    await drain();
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(["created", "queued"]);
    // The loser did try to create the thread's session, and the database said no.
    expect(logged.filter((m) => m.includes("created this thread's session first"))).toHaveLength(1);
    const onThread = (await listSessions(database.db)).filter(
      (s) => s.threadKind === "pull_request" && s.threadNumber === n,
    );
    expect(onThread).toHaveLength(1);
    expect((await listPrompts(database.db, onThread[0]!.id)).map((p) => p.authorLogin).sort()).toEqual([
      "alice",
      "bob",
    ]);
  });

  it("takes a new assignment once the work on the issue is done", async () => {
    const n = ++issueNo;
    const assign = () =>
      payload("issues", "assigned", (p) => {
        p.issue.number = n;
        p.issue.title = "Add a dark mode";
        p.issue.body = "Users keep asking.";
        p.assignee = { login: "inspect-app[bot]", id: 9, type: "Bot" };
      });
    await deliver(inspect, "issues", assign());
    await drain();
    const [session] = (await listSessions(database.db)).filter((s) => s.threadNumber === n);
    const { sessionToken } = await runner.claim(session!.id);
    const first = await runner.take(session!.id, sessionToken);
    await runner.done(session!.id, sessionToken, first.id, { status: "done" });
    await runner.exit(session!.id, sessionToken, "idle");
    await drain();
    await deliver(inspect, "issues", assign());
    await drain();
    expect((await listPrompts(database.db, session!.id)).map((p) => [p.source, p.status])).toEqual([
      ["github_assignment", "done"],
      ["github_assignment", "queued"],
    ]);
    expect((await getSession(database.db, session!.id))?.status).toBe("queued");
  });

  it("edits the status comment at most once per interval, and the last state always lands", async () => {
    inspect = await stack.restart({ statusCommentIntervalMs: 400 });
    const { id, token } = await start();
    const before = gh.find("PATCH", /\/issues\/comments\/\d+$/).length;
    // A burst of milestones within one interval.
    for (let i = 0; i < 3; i++) {
      const p = await runner.take(id, token);
      await runner.done(id, token, p.id, { status: "done" });
      await deliver(
        inspect,
        "issue_comment",
        issueComment(`@inspect step ${i}`, { issue: (await getSession(database.db, id))!.threadNumber! }),
      );
      await drain();
    }
    await new Promise((r) => setTimeout(r, 450));
    await drain();
    const edits = gh.find("PATCH", /\/issues\/comments\/\d+$/).slice(before);
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.length).toBeLessThanOrEqual(4);
    const status = (await getSession(database.db, id))!.status;
    expect(status).toBe("idle");
    expect(edits.at(-1)!.body.body).toMatch(/waiting for follow-ups/);
  });
});

describe("the webhook response", () => {
  it("comes before any GitHub call returns: a stalled GitHub delays the work, not GitHub's answer", async () => {
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    let permissionAsked = false;
    gh.on("GET", /\/collaborators\/[^/]+\/permission$/, async () => {
      permissionAsked = true;
      await stalled;
      return [200, { permission: "write" }];
    });
    const n = ++issueNo;
    try {
      const res = await deliver(inspect, "issue_comment", issueComment("@inspect go", { issue: n }));
      expect(res.status).toBe(200);
      // GitHub had its answer; the work is still waiting on its first GitHub call.
      await vi.waitFor(() => expect(permissionAsked).toBe(true), { timeout: 10_000 });
      expect((await listSessions(database.db)).filter((s) => s.threadNumber === n)).toEqual([]);
    } finally {
      release();
    }
    await drain();
    expect((await listSessions(database.db)).filter((s) => s.threadNumber === n)).toHaveLength(1);
  });
});

describe("GitHub API limits", () => {
  it("retries a secondary rate limit and a 5xx, without blocking the webhook response", async () => {
    // Our real Octokit (Probot's retry and throttling plugins), with waits shortened for the test.
    const Octokit = InspectOctokit.defaults((o: any) => ({
      ...o,
      retry: { ...o.retry, enabled: true, retryAfterBaseValue: 1 },
      throttle: {
        ...o.throttle,
        enabled: true,
        retryAfterBaseValue: 1,
        write: new Bottleneck.Group({ maxConcurrent: 10, minTime: 0 }),
      },
    }));
    inspect = await stack.restart({ Octokit });
    let reactions = 0;
    gh.on("POST", /\/reactions$/, () =>
      ++reactions === 1 ? [403, { message: "You have exceeded a secondary rate limit" }] : [201, { id: 1 }],
    );
    let comments = 0;
    gh.on("POST", /\/issues\/\d+\/comments$/, () =>
      ++comments === 1 ? [502, { message: "Bad gateway" }] : [201, { id: 555 }],
    );

    const n = ++issueNo;
    const res = await deliver(inspect, "issue_comment", issueComment("@inspect go", { issue: n }));
    expect(res.status).toBe(200);
    await drain();
    expect(reactions).toBe(2);
    expect(comments).toBe(2);
    expect((await listSessions(database.db)).find((s) => s.threadNumber === n)?.statusCommentId).toBe(555);
  });
});
