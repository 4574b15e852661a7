/**
 * The runner API through HTTP, with this test acting as the runner: OIDC claim
 * (tokens signed by a local issuer), long-poll, events, done, stop, exit,
 * heartbeat timeout, and malformed input that must change nothing.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { LOCAL_VIEWER, type AccessPolicy } from "../api/access.js";
import { upsertRepository, upsertUser } from "../db/accounts.js";
import type { Database } from "../db/client.js";
import { listPrompts } from "../db/prompts.js";
import { eq } from "drizzle-orm";
import { activeRun, insertRun, queuedRun } from "../db/runs.js";
import { runs } from "../db/schema.js";
import { createOidcVerifier } from "./oidc.js";
import { getSession, insertSession, listSessions } from "../db/sessions.js";
import type { Inspect } from "../server.js";
import { sha256 } from "../util/tokens.js";
import type { FakeGitHub } from "../../test/support/fake-github.js";
import { useGitHubStack } from "../../test/support/github-stack.js";
import { deliver, testInspect } from "../../test/support/inspect.js";
import type { TestIssuer } from "../../test/support/oidc-issuer.js";
import { issueComment } from "../../test/support/payloads.js";
import { jobClaims, RUNNER_CLAIMS, RUNNER_REPOSITORY_ID } from "../../test/support/runner-client.js";

const stack = useGitHubStack({
  env: { INSPECT_HEARTBEAT_TIMEOUT: "30" },
  permissions: { alice: "write", bob: "write" },
});
let database: Database;
let issuer: TestIssuer;
let inspect: Inspect;
let gh: FakeGitHub;
beforeEach(() => {
  ({ database, issuer, inspect, gh } = stack);
});
const GOOD = RUNNER_CLAIMS;
const runner = stack.runner;
const { call, claim } = runner;

let issueNo = 500;
async function newSession(text = "@inspect fix the crash"): Promise<string> {
  const n = ++issueNo;
  await deliver(inspect, "issue_comment", issueComment(text, { issue: n }));
  await inspect.tasks.drain();
  return (await listSessions(database.db)).find((s) => s.threadNumber === n)!.id;
}

const next = runner.next;
const events = (id: string, since = 0) => inspect.sessions.deps.events.list(id, since);

describe("claiming with the Actions OIDC token", () => {
  it.each([
    ["a wrong audience", { ...GOOD, aud: "https://elsewhere.test" }, {}],
    ["a wrong repository", { ...GOOD, repository: "evil/fork" }, {}],
    [
      "a wrong workflow",
      { ...GOOD, workflow_ref: "acme/inspect-runner/.github/workflows/other.yml@refs/heads/main" },
      {},
    ],
    ["an expired token", GOOD, { expiresIn: Math.floor(Date.now() / 1000) - 600 }],
    ["a token signed by another key", GOOD, { foreignKey: true }],
    ["another issuer", GOOD, { issuer: "https://token.example.com" }],
  ] as const)("rejects %s with 401 and changes nothing", async (_label, claims, opts) => {
    const id = await newSession();
    const before = (await events(id)).length;
    const res = await call("/claim", await issuer.sign(claims, opts), { body: { sessionId: id } });
    expect(res.status).toBe(401);
    expect(res.json.error).toMatch(/OIDC token/);
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect(await events(id)).toHaveLength(before);
  });

  it("rejects a missing token", async () => {
    const id = await newSession();
    expect((await call("/claim", null, { body: { sessionId: id } })).status).toBe(401);
  });

  it("hands over a repo-scoped installation token and the session spec, once", async () => {
    const id = await newSession();
    const claimed = await claim(id);
    expect(claimed.session).toMatchObject({
      id,
      repo: { fullName: "acme/widgets" },
      cloneUrl: "https://github.com/acme/widgets.git",
      baseBranch: "main",
      headExists: false,
      gitToken: "ghs_installation_77_widgets",
      committer: { name: "inspect-app[bot]", email: "inspect-app[bot]@users.noreply.github.com" },
      noreplyDomain: "users.noreply.github.com",
      sessionUrl: `https://inspect.test/sessions/${id}`,
    });
    const minted = gh.find("POST", /^\/app\/installations\/77\/access_tokens$/).at(-1)!;
    expect(minted.body).toEqual({ repositories: ["widgets"], permissions: { contents: "write" } });
    expect((await getSession(database.db, id))?.status).toBe("starting");
    // A second runner for the same dispatch is turned away.
    expect((await call("/claim", await issuer.sign(GOOD), { body: { sessionId: id } })).status).toBe(409);
  });
});

describe("a claim is bound to its dispatch", () => {
  /** The session is as the dispatch left it: queued, its run unclaimed, no event added. */
  async function untouched(id: string, eventsBefore: number, githubRunId: number | null) {
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect(await queuedRun(database.db, id)).toMatchObject({ state: "queued", tokenHash: null, githubRunId });
    expect(await events(id)).toHaveLength(eventsBefore);
  }

  it("records the workflow run GitHub answered the dispatch with", async () => {
    const id = await newSession();
    const [dispatch] = gh.find("POST", /dispatches$/);
    expect(dispatch!.body).toMatchObject({ ref: "main", return_run_details: true, inputs: { session_id: id } });
    const run = gh.runFor(id)!;
    expect(run.id).toBeGreaterThan(2 ** 31);
    expect((await queuedRun(database.db, id))?.githubRunId).toBe(run.id);
  });

  it.each([
    [
      "another workflow",
      { workflow_ref: "acme/inspect-runner/.github/workflows/other.yml@refs/heads/main" },
      401,
      /workflow/,
    ],
    [
      "another ref",
      {
        ref: "refs/heads/dev",
        workflow_ref: "acme/inspect-runner/.github/workflows/inspect-runner.yml@refs/heads/dev",
      },
      401,
      /ref|workflow/,
    ],
    ["another event (push)", { event_name: "push" }, 401, /push event, expected workflow_dispatch/],
    [
      "another repository id (the name re-registered)",
      { repository_id: "999" },
      401,
      /repository id 999, expected 5150042/,
    ],
    ["no jti", { jti: null }, 401, /jti/],
    [
      "another workflow run",
      { run_id: "31000000001" },
      403,
      /workflow run 31000000001, not run \d+ dispatched for session/,
    ],
  ] as const)(
    "refuses a token with %s, and the session stays claimable by the right one",
    async (_label, extra, status, message) => {
      const id = await newSession();
      const run = gh.runFor(id)!;
      const before = (await events(id)).length;
      const res = await call("/claim", await issuer.sign(jobClaims(run.id, extra)), { body: { sessionId: id } });
      expect(res.status).toBe(status);
      expect(res.json.error).toMatch(message);
      await untouched(id, before, run.id);
      expect((await call("/claim", await runner.token(id), { body: { sessionId: id } })).status).toBe(200);
    },
  );

  it("accepts a token once, and a job claims only its own dispatch, once", async () => {
    const id = await newSession();
    const first = gh.runFor(id)!;
    const token = await runner.token(id);
    const claimed = await call("/claim", token, { body: { sessionId: id } });
    expect(claimed.status).toBe(200);
    expect(await activeRun(database.db, id)).toMatchObject({ state: "claimed", githubRunId: first.id });
    // The same token again: refused as used. A second token from the same job: the session is taken.
    const replay = await call("/claim", token, { body: { sessionId: id } });
    expect(replay).toMatchObject({ status: 401, json: { error: expect.stringMatching(/already used/) } });
    const second = await call("/claim", await runner.token(id), { body: { sessionId: id } });
    expect(second).toMatchObject({ status: 409, json: { error: expect.stringMatching(/not waiting for a runner/) } });

    // The runner fails; the session's prompt is kept and a new job is dispatched for it.
    expect(
      (await call(`/sessions/${id}/exit`, claimed.json.sessionToken, { body: { reason: "error", error: "boom" } }))
        .status,
    ).toBe(200);
    await inspect.tasks.drain();
    if ((await getSession(database.db, id))?.status !== "queued") {
      await deliver(
        inspect,
        "issue_comment",
        issueComment("@inspect try again", { issue: (await getSession(database.db, id))!.threadNumber! }),
      );
      await inspect.tasks.drain();
    }
    const again = gh.runFor(id)!;
    expect(again.id).not.toBe(first.id);
    const before = (await events(id)).length;
    // Neither the used token nor a new token of the first job claims the new dispatch.
    expect((await call("/claim", token, { body: { sessionId: id } })).status).toBe(401);
    const oldJob = await call("/claim", await issuer.sign(jobClaims(first.id)), { body: { sessionId: id } });
    expect(oldJob).toMatchObject({
      status: 403,
      json: { error: expect.stringMatching(`workflow run ${first.id}, not run ${again.id}`) },
    });
    await untouched(id, before, again.id);
    expect((await call("/claim", await runner.token(id), { body: { sessionId: id } })).status).toBe(200);
  });

  it("asks GitHub for the job's run when the dispatch did not say (older GitHub Enterprise: 204)", async () => {
    gh.dispatchAnswer = "no-content";
    const id = await newSession();
    const other = await newSession("@inspect something else");
    const run = gh.runFor(id)!;
    const before = (await events(id)).length;
    const refused = async (runId: number, message: RegExp | string) => {
      const res = await call("/claim", await issuer.sign(jobClaims(runId)), { body: { sessionId: id } });
      expect(res.status).toBe(403);
      expect(res.json.error).toMatch(message);
      await untouched(id, before, null);
    };
    await refused(41_000_000_001, "which the runner repository does not have");
    // Another session's job; runs of the workflow by hand, on push, from before the dispatch.
    await refused(gh.runFor(other)!.id, `is named "${other}", not after session ${id}`);
    const fake = (extra: Partial<typeof run>) => {
      const r = { ...run, id: 42_000_000_000 + gh.workflowRuns.length, ...extra };
      gh.workflowRuns.push(r);
      return r.id;
    };
    await refused(fake({ actor: "mallory" }), "was started by mallory, not by inspect-app[bot]");
    await refused(fake({ event: "push" }), "started by a push event");
    await refused(fake({ workflow: "other.yml" }), "runs .github/workflows/other.yml");
    await refused(
      fake({ createdAt: new Date(Date.now() - 3_600_000) }),
      "before this run of the session was dispatched",
    );

    const claimed = await call("/claim", await issuer.sign(jobClaims(run.id)), { body: { sessionId: id } });
    expect(claimed.status).toBe(200);
    expect(gh.find("GET", new RegExp(`/actions/runs/${run.id}$`))).toHaveLength(1);
    // The job's run is recorded: it never claims another run of this session.
    expect(await activeRun(database.db, id)).toMatchObject({ state: "claimed", githubRunId: run.id });
  });

  it("dispatches again without return_run_details where GitHub refuses the parameter (422)", async () => {
    gh.dispatchAnswer = "rejects-run-details";
    const id = await newSession();
    const dispatches = gh.find("POST", /dispatches$/);
    expect(dispatches.map((d) => "return_run_details" in d.body)).toEqual([true, false]);
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect((await queuedRun(database.db, id))?.githubRunId).toBeNull();
    await claim(id);
  });

  it("accepts INSPECT_RUNNER_REF as a branch or a full ref, and nothing else", async () => {
    const token = await issuer.sign(jobClaims(7));
    const verifier = (ref: string) =>
      createOidcVerifier({
        issuer: issuer.url,
        audience: "https://inspect.test",
        repository: "acme/inspect-runner",
        workflow: "inspect-runner.yml",
        ref,
        repositoryId: async () => RUNNER_REPOSITORY_ID,
      });
    expect(await verifier("main")(token)).toMatchObject({ runId: 7, repository: "acme/inspect-runner" });
    expect(await verifier("refs/heads/main")(token)).toMatchObject({ runId: 7 });
    await expect(verifier("dev")(token)).rejects.toThrow(
      /expected acme\/inspect-runner\/.github\/workflows\/inspect-runner.yml@refs\/heads\/dev/,
    );
  });
});

describe("a runner's session", () => {
  it("takes prompts in order, streams events, reports done, and completes when idle", async () => {
    const id = await newSession("@inspect fix the crash");
    const { sessionToken } = await claim(id);

    const first = await next(id, sessionToken);
    expect(first.kind).toBe("prompt");
    if (first.kind !== "prompt") return;
    expect(first.prompt).toMatchObject({ title: "fix the crash", author: { login: "alice", id: 1001 } });
    // Thread text reaches the agent fenced and labelled as untrusted, hidden text gone.
    expect(first.prompt.text).toContain('<untrusted-data source="@alice">');
    expect(first.prompt.text).toContain("Login page crashes");
    expect(first.prompt.text).not.toContain("hidden instruction");
    expect((await getSession(database.db, id))?.status).toBe("running");

    // While a turn runs, nothing else is handed out.
    expect(await next(id, sessionToken)).toEqual({ kind: "none" });

    const appended = await call(`/sessions/${id}/events`, sessionToken, {
      body: {
        events: [
          { type: "agent.text.delta", data: { partId: "p1", delta: "Looking" } },
          { type: "tool.call", data: { callId: "c1", tool: "bash", status: "running", title: "npm test" } },
        ],
      },
    });
    expect(appended.status).toBe(200);
    expect(appended.json.lastSeq).toBe((await events(id)).at(-1)!.seq);

    expect(
      (await call(`/sessions/${id}/pushed`, sessionToken, { body: { branch: "inspect/1-x", sha: "abcdef1" } })).status,
    ).toBe(200);
    await inspect.tasks.drain(); // the PR opens in the background
    expect(await getSession(database.db, id)).toMatchObject({ headSha: "abcdef1", headExists: true });

    const done = await call(`/sessions/${id}/prompts/${first.prompt.id}/done`, sessionToken, {
      body: {
        status: "done",
        commits: [{ sha: "abcdef1", message: "fix the crash" }],
        usage: { inputTokens: 10, outputTokens: 5 },
      },
    });
    expect(done.status).toBe(200);
    expect((await getSession(database.db, id))?.status).toBe("idle");

    // A follow-up while idle wakes the waiting long-poll.
    const waiting = next(id, sessionToken, 10);
    await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect also add a test", {
        issue: (await getSession(database.db, id))!.threadNumber!,
        login: "bob",
        commentId: 8001,
      }),
    );
    await inspect.tasks.drain();
    const second = await waiting;
    expect(second).toMatchObject({ kind: "prompt", prompt: { author: { login: "bob" }, title: "also add a test" } });

    const types = (await events(id)).map((e) => e.type);
    expect(types).toEqual([
      "session.status", // queued
      "prompt.queued",
      "session.status", // starting
      "session.status", // running
      "prompt.started",
      "agent.text.delta",
      "tool.call",
      "pr.opened",
      "prompt.finished",
      "session.status", // idle
      "prompt.queued",
      "session.status", // running
      "prompt.started",
    ]);

    if (second.kind !== "prompt") return;
    await call(`/sessions/${id}/prompts/${second.prompt.id}/done`, sessionToken, {
      body: { status: "done", commits: [] },
    });
    expect((await call(`/sessions/${id}/exit`, sessionToken, { body: { reason: "idle" } })).status).toBe(200);
    expect((await getSession(database.db, id))?.status).toBe("completed");
    // The session token dies with the run.
    expect((await call(`/sessions/${id}/heartbeat`, sessionToken, { body: {} })).status).toBe(401);
  });

  it("tells the runner to stop the running turn, then to exit", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    const first = await next(id, sessionToken);
    if (first.kind !== "prompt") throw new Error("expected a prompt");
    await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect stop", { issue: (await getSession(database.db, id))!.threadNumber! }),
    );
    await inspect.tasks.drain();
    expect(await next(id, sessionToken)).toEqual({ kind: "stop", promptId: first.prompt.id });
    await call(`/sessions/${id}/prompts/${first.prompt.id}/done`, sessionToken, { body: { status: "stopped" } });
    expect(await next(id, sessionToken)).toEqual({ kind: "exit", reason: "session stopped" });
    expect((await listPrompts(database.db, id))[0]!.status).toBe("stopped");
  });

  it("fails a session whose runner stops heartbeating: the lost prompt fails, a fresh run takes what is queued", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    const first = await next(id, sessionToken);
    if (first.kind !== "prompt") throw new Error("expected a prompt");
    // A follow-up queued behind the turn the runner is lost in.
    await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect and the docs", { issue: (await getSession(database.db, id))!.threadNumber! }),
    );
    await inspect.tasks.drain();
    await new Promise((r) => setTimeout(r, 20));
    // Other tests in this file left runs claimed too; this one must be among the reaped.
    expect(await inspect.runners.reap(10, 60_000)).toBeGreaterThanOrEqual(1);
    const prompts = await listPrompts(database.db, id);
    expect(prompts.map((p) => p.status)).toEqual(["failed", "queued"]);
    expect(prompts[0]!.error).toMatch(/stopped responding/);
    const all = await events(id);
    expect(all.some((e) => e.type === "error" && /stopped responding/.test(e.data.message))).toBe(true);
    expect(all.some((e) => e.type === "session.status" && e.data.status === "failed")).toBe(true);
    // The queued follow-up runs on a fresh run of the same session.
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect(gh.find("POST", /dispatches$/).filter((c) => JSON.stringify(c.body).includes(id))).toHaveLength(2);
  });

  it("does not reap anything within the first heartbeat timeout after a start: runners are reconnecting", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    await next(id, sessionToken);
    // Its last heartbeat is an hour old: the control plane was down that long.
    await database.db
      .update(runs)
      .set({ heartbeatAt: new Date(Date.now() - 3_600_000) })
      .where(eq(runs.sessionId, id));
    const fresh = await stack.restart({});
    inspect = fresh;
    expect(await fresh.runners.reap(60_000, 600_000)).toBe(0);
    expect((await getSession(database.db, id))?.status).toBe("running");
    // The runner's token still works against the new process.
    expect((await call(`/sessions/${id}/heartbeat`, sessionToken, { body: {} })).status).toBe(200);
  });

  it("a runner shut down while the session is idle ends the session; the next follow-up gets a new run", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    const first = await runner.take(id, sessionToken);
    await runner.done(id, sessionToken, first.id, { status: "done", commits: [] });
    expect((await getSession(database.db, id))?.status).toBe("idle");
    await runner.exit(id, sessionToken, "stopped");
    expect(await getSession(database.db, id)).toMatchObject({
      status: "completed",
      statusReason: "the runner was shut down",
    });
    const issue = (await getSession(database.db, id))!.threadNumber!;
    await deliver(inspect, "issue_comment", issueComment("@inspect and the docs", { issue }));
    await inspect.tasks.drain();
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect(await queuedRun(database.db, id)).toBeDefined();
  });

  it("a runner that exits mid-turn without reporting fails that prompt; what is queued gets a fresh run", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    await runner.take(id, sessionToken);
    const issue = (await getSession(database.db, id))!.threadNumber!;
    await deliver(inspect, "issue_comment", issueComment("@inspect then the tests", { issue }));
    await inspect.tasks.drain();
    await runner.exit(id, sessionToken, "exit");
    const prompts = await listPrompts(database.db, id);
    expect(prompts.map((p) => p.status)).toEqual(["failed", "queued"]);
    expect(prompts[0]!.error).toMatch(/before it reported this prompt/);
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect(await queuedRun(database.db, id)).toBeDefined();
  });

  it("a prompt whose end report was lost fails when the runner says it is not working on it", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    const first = await runner.take(id, sessionToken);
    // The runner finished the turn but its report never arrived; it polls, working on nothing.
    const res = await call(`/sessions/${id}/next?wait=0&current=0&seen=${first.id}`, sessionToken);
    expect(res.json).toEqual({ kind: "none" });
    const [prompt] = await listPrompts(database.db, id);
    expect(prompt).toMatchObject({ status: "failed", error: expect.stringMatching(/report on this prompt was lost/) });
    expect((await getSession(database.db, id))?.status).toBe("idle");
  });

  it("a prompt handed out in an answer that never arrived is handed out again", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    const lost = await runner.take(id, sessionToken);
    const again = await call(`/sessions/${id}/next?wait=0&current=0&seen=0`, sessionToken);
    expect(again.json).toMatchObject({ kind: "prompt", prompt: { id: lost.id } });
    // While the runner works on it, nothing is reconciled away.
    expect((await call(`/sessions/${id}/next?wait=0&current=${lost.id}&seen=${lost.id}`, sessionToken)).json).toEqual({
      kind: "none",
    });
    expect((await listPrompts(database.db, id))[0]!.status).toBe("running");
    expect((await call(`/sessions/${id}/next?wait=0&current=x`, sessionToken)).status).toBe(400);
  });

  it("the sweep repairs sessions that lost their run unheard, and stops retrying after three failed runners", async () => {
    const id = await newSession();
    const issue = (await getSession(database.db, id))!.threadNumber!;
    for (const text of ["two", "three", "four"]) {
      await deliver(inspect, "issue_comment", issueComment(`@inspect ${text}`, { issue }));
      await inspect.tasks.drain();
    }
    for (let i = 0; i < 3; i++) {
      const { sessionToken } = await claim(id);
      await runner.take(id, sessionToken);
      // The run ends without a word reaching the session (its runner died with the control plane).
      await database.db
        .update(runs)
        .set({ state: "ended", endedAt: new Date(), endReason: "error" })
        .where(eq(runs.sessionId, id));
      expect(await inspect.runners.ensureRuns()).toBeGreaterThanOrEqual(1);
      expect((await getSession(database.db, id))?.status).toBe(i < 2 ? "queued" : "failed");
    }
    await inspect.runners.ensureRuns();
    const prompts = await listPrompts(database.db, id);
    expect(prompts.map((p) => p.status)).toEqual(["failed", "failed", "failed", "queued"]);
    expect(prompts[0]!.error).toMatch(/without reporting back/);
    expect(await activeRun(database.db, id)).toBeUndefined();
    const gaveUp = (await events(id)).filter((e) => e.type === "error" && /stopped retrying/.test(e.data.message));
    expect(gaveUp).toHaveLength(1);
  });

  it("gives a new session the next free branch name when an older session's branch of that name is still there", async () => {
    // The old PR was closed unmerged; its branch inspect/<n>-<slug> is still on GitHub.
    const n = issueNo + 1;
    // (Octokit sends the ref's slashes encoded.)
    const slash = "(?:/|%2F)";
    gh.on("GET", new RegExp(`/git/ref/heads${slash}inspect${slash}${n}-`), () => [
      200,
      { object: { sha: "a".repeat(40) } },
    ]);
    gh.on("GET", new RegExp(`/git/ref/heads${slash}inspect${slash}${n}-.*-2$`), () => [404, { message: "Not Found" }]);
    const id = await newSession("@inspect fix the crash again");
    const { session } = (await claim(id)) as { session: { headBranch: string } };
    expect(session.headBranch).toMatch(new RegExp(`^inspect/${n}-.*-2$`));
    expect((await getSession(database.db, id))?.headBranch).toBe(session.headBranch);
  });

  it("reaps a silent runner but not one that keeps heartbeating", async () => {
    const alive = await newSession();
    const silent = await newSession();
    const a = await claim(alive);
    const s = await claim(silent);
    await next(alive, a.sessionToken);
    await next(silent, s.sessionToken);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await call(`/sessions/${alive}/heartbeat`, a.sessionToken, { body: {} })).status).toBe(200);
    // The silent runner last spoke over 1.1 s ago, the other just now: a 1 s timeout lies between.
    await inspect.runners.reap(1_000, 60_000);
    expect((await getSession(database.db, alive))?.status).toBe("running");
    expect(await activeRun(database.db, alive)).toMatchObject({ state: "claimed" });
    expect((await getSession(database.db, silent))?.status).toBe("failed");
    expect(await next(alive, a.sessionToken)).toEqual({ kind: "none" });
    expect((await call(`/sessions/${silent}/heartbeat`, s.sessionToken, { body: {} })).status).toBe(401);
  });

  it("answers a malformed heartbeat with 400 without counting it as a sign of life", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    const before = (await activeRun(database.db, id))!.heartbeatAt;
    await new Promise((r) => setTimeout(r, 5));
    for (const body of ["{not json", "[]", '"alive"', "null", "42"]) {
      const res = await call(`/sessions/${id}/heartbeat`, sessionToken, { body });
      expect(res.status, body).toBe(400);
      expect(typeof res.json.error, body).toBe("string");
    }
    expect((await activeRun(database.db, id))!.heartbeatAt).toEqual(before);
    // The contract's body, and an empty one, are accepted and count.
    expect((await call(`/sessions/${id}/heartbeat`, sessionToken, { body: {} })).status).toBe(200);
    expect((await call(`/sessions/${id}/heartbeat`, sessionToken, { body: "" })).status).toBe(200);
    expect((await activeRun(database.db, id))!.heartbeatAt!.getTime()).toBeGreaterThan(before!.getTime());
  });

  it("answers malformed bodies with 400 and writes nothing", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    const first = await next(id, sessionToken);
    if (first.kind !== "prompt") throw new Error("expected a prompt");
    const before = await events(id);
    const bad: [string, unknown][] = [
      [`/sessions/${id}/events`, "{not json"],
      [`/sessions/${id}/events`, { events: [] }],
      [`/sessions/${id}/events`, { events: [{ type: "made.up", data: {} }] }],
      [
        `/sessions/${id}/events`,
        {
          events: [{ type: "prompt.queued", data: { promptId: 1, text: "x", author: { login: "a" }, source: "web" } }],
        },
      ],
      [
        `/sessions/${id}/events`,
        { events: [{ type: "tool.call", data: { callId: "c", tool: "bash", status: "exploded" } }] },
      ],
      [`/sessions/${id}/prompts/${first.prompt.id}/done`, { status: "great" }],
      [`/sessions/${id}/prompts/nope/done`, { status: "done" }],
      [`/sessions/${id}/pushed`, { branch: "", sha: "xyz" }],
      [`/sessions/${id}/exit`, { reason: "bored" }],
      ["/claim", { sessionId: 12 }],
    ];
    for (const [path, body] of bad) {
      const res = await call(path, sessionToken, { body });
      expect(res.status, path).toBe(400);
      expect(typeof res.json.error, path).toBe("string");
    }
    expect((await call(`/sessions/${id}/next?wait=999`, sessionToken)).status).toBe(400);
    expect(await events(id)).toEqual(before);
    expect((await getSession(database.db, id))?.status).toBe("running");
    expect((await listPrompts(database.db, id))[0]!.status).toBe("running");
  });

  it("never lets one session's token touch another session", async () => {
    const a = await newSession("@inspect fix the crash");
    const b = await newSession("@inspect fix the other crash");
    const tokenA = (await claim(a)).sessionToken;
    const tokenB = (await claim(b)).sessionToken;
    await runner.take(a, tokenA);
    const promptB = await runner.take(b, tokenB);
    const snapshot = async () => ({
      session: await getSession(database.db, b),
      prompts: await listPrompts(database.db, b),
      events: await events(b),
      run: await activeRun(database.db, b),
      eventsA: (await events(a)).length,
    });
    const before = await snapshot();

    // Runner A marks B's prompt done through its own session: no such prompt there.
    const done = await call(`/sessions/${a}/prompts/${promptB.id}/done`, tokenA, {
      body: { status: "done", commits: [] },
    });
    expect(done.status).toBe(409);
    expect(done.json.error).toBe(`prompt ${promptB.id} is not running in session ${a}`);
    // Runner A's token on B's routes: not B's token.
    const writes: [string, unknown][] = [
      [`/sessions/${b}/prompts/${promptB.id}/done`, { status: "done", commits: [] }],
      [`/sessions/${b}/events`, { events: [{ type: "error", data: { message: "x" } }] }],
      [`/sessions/${b}/pushed`, { branch: "inspect/evil", sha: "bad0bad" }],
      [`/sessions/${b}/heartbeat`, {}],
      [`/sessions/${b}/exit`, { reason: "error", error: "x" }],
    ];
    for (const [path, body] of writes) {
      const res = await call(path, tokenA, { body });
      expect(res.status, path).toBe(401);
      expect(res.json.error, path).toBe("invalid or expired session token");
    }
    expect((await call(`/sessions/${b}/next`, tokenA)).status).toBe(401);
    await inspect.tasks.drain();
    expect(await snapshot()).toEqual(before);
    expect(before.prompts.map((p) => p.status)).toEqual(["running"]);

    // B's own runner still finishes its prompt.
    await runner.done(b, tokenB, promptB.id, { status: "done", commits: [] });
    expect((await listPrompts(database.db, b)).map((p) => p.status)).toEqual(["done"]);
  });

  it("refuses a wrong session token", async () => {
    const id = await newSession();
    await claim(id);
    expect((await call(`/sessions/${id}/next`, "not-the-token")).status).toBe(401);
    expect(
      (
        await call(`/sessions/${id}/events`, "not-the-token", {
          body: { events: [{ type: "error", data: { message: "x" } }] },
        })
      ).status,
    ).toBe(401);
  });
});

describe("reading a session's events over the session API", () => {
  const everyone: AccessPolicy = {
    viewer: async () => LOCAL_VIEWER,
    canRead: async () => true,
    canWrite: async () => true,
  };
  const get = (path: string) => stack.inspect.app.request(path, { headers: { accept: "application/json" } });

  it("?since=N returns only the events after N", async () => {
    inspect = await stack.restart({ access: everyone });
    const id = await newSession();
    const { sessionToken } = await claim(id);
    await next(id, sessionToken);
    await call(`/sessions/${id}/events`, sessionToken, {
      body: {
        events: [
          { type: "agent.text.delta", data: { partId: "p1", delta: "a" } },
          { type: "agent.text.delta", data: { partId: "p1", delta: "b" } },
        ],
      },
    });
    const all = await events(id);
    expect(all.length).toBeGreaterThan(3);
    const n = all[2]!.seq;

    const res = await get(`/api/sessions/${id}/events?since=${n}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { events: { seq: number }[]; lastSeq: number };
    expect(body.events.map((e) => e.seq)).toEqual(all.filter((e) => e.seq > n).map((e) => e.seq));
    expect(body.lastSeq).toBe(all.at(-1)!.seq);
    const none = (await (await get(`/api/sessions/${id}/events?since=${body.lastSeq}`)).json()) as {
      events: unknown[];
    };
    expect(none.events).toEqual([]);
    const from0 = (await (await get(`/api/sessions/${id}/events?since=0`)).json()) as { events: unknown[] };
    expect(from0.events).toHaveLength(all.length);
  });

  it.each(["-1", "abc", "1.5"])("answers since=%s with 400", async (since) => {
    inspect = await stack.restart({ access: everyone });
    const id = await newSession();
    const res = await get(`/api/sessions/${id}/events?since=${since}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/since/);
  });
});

describe("claiming a local runner's session", () => {
  it("refuses a wrong runner token with 401 and leaves the run waiting for the right one", async () => {
    const local = await testInspect(
      {
        INSPECT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "inspect-local-")),
        INSPECT_SECRET: "y".repeat(40),
        INSPECT_PUBLIC_URL: "https://inspect.test",
      },
      database,
    );
    try {
      const repoDir = mkdtempSync(path.join(os.tmpdir(), "inspect-repo-"));
      const repo = await upsertRepository(database.db, {
        owner: "local",
        name: path.basename(repoDir),
        localPath: repoDir,
      });
      const user = await upsertUser(database.db, { login: "local" });
      const id = `localClaim${++issueNo}`;
      await insertSession(database.db, {
        id,
        repositoryId: repo.id,
        threadKind: "local",
        title: "Local work",
        status: "queued",
        baseBranch: "main",
        headBranch: `inspect/${id}`,
        createdByUserId: user.id,
      });
      await insertRun(database.db, id, sha256("the-right-token"));
      const claimWith = async (token: string) => {
        const res = await local.app.request("/api/runner/claim", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ sessionId: id }),
        });
        return { status: res.status, json: (await res.json()) as any };
      };

      const wrong = await claimWith("not-the-token");
      expect(wrong.status).toBe(401);
      expect(wrong.json.error).toBe("invalid runner token");
      expect((await getSession(database.db, id))?.status).toBe("queued");
      expect(await queuedRun(database.db, id)).toBeDefined();

      const right = await claimWith("the-right-token");
      expect(right.status).toBe(200);
      expect(right.json.session).toMatchObject({ id, cloneUrl: repoDir, gitToken: null });
    } finally {
      await local.close();
    }
  });
});
