/**
 * The runner API through HTTP, with this test acting as the runner: OIDC claim
 * (tokens signed by a local issuer), long-poll, events, done, stop, exit,
 * heartbeat timeout, and malformed input that must change nothing.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../app/db/client.js";
import { listPrompts } from "../../app/db/prompts.js";
import { getSession, listSessions } from "../../app/db/sessions.js";
import type { Inspect } from "../../app/server.js";
import type { FakeGitHub } from "../support/fake-github.js";
import { useGitHubStack } from "../support/github-stack.js";
import { deliver } from "../support/inspect.js";
import type { TestIssuer } from "../support/oidc-issuer.js";
import { issueComment } from "../support/payloads.js";
import { RUNNER_CLAIMS } from "../support/runner-client.js";

const stack = useGitHubStack({ env: { INSPECT_HEARTBEAT_TIMEOUT: "30" }, permissions: { alice: "write", bob: "write" } });
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
    ["a wrong workflow", { ...GOOD, workflow_ref: "acme/inspect-runner/.github/workflows/other.yml@refs/heads/main" }, {}],
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
      body: { events: [{ type: "agent.text.delta", data: { partId: "p1", delta: "Looking" } }, { type: "tool.call", data: { callId: "c1", tool: "bash", status: "running", title: "npm test" } }] },
    });
    expect(appended.status).toBe(200);
    expect(appended.json.lastSeq).toBe((await events(id)).at(-1)!.seq);

    expect((await call(`/sessions/${id}/pushed`, sessionToken, { body: { branch: "inspect/1-x", sha: "abcdef1" } })).status).toBe(200);
    await inspect.tasks.drain(); // the PR opens in the background
    expect(await getSession(database.db, id)).toMatchObject({ headSha: "abcdef1", headExists: true });

    const done = await call(`/sessions/${id}/prompts/${first.prompt.id}/done`, sessionToken, {
      body: { status: "done", commits: [{ sha: "abcdef1", message: "fix the crash" }], usage: { inputTokens: 10, outputTokens: 5 } },
    });
    expect(done.status).toBe(200);
    expect((await getSession(database.db, id))?.status).toBe("idle");

    // A follow-up while idle wakes the waiting long-poll.
    const waiting = next(id, sessionToken, 10);
    await deliver(inspect, "issue_comment", issueComment("@inspect also add a test", { issue: (await getSession(database.db, id))!.threadNumber!, login: "bob", commentId: 8001 }));
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
    await call(`/sessions/${id}/prompts/${second.prompt.id}/done`, sessionToken, { body: { status: "done", commits: [] } });
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
    await deliver(inspect, "issue_comment", issueComment("@inspect stop", { issue: (await getSession(database.db, id))!.threadNumber! }));
    await inspect.tasks.drain();
    expect(await next(id, sessionToken)).toEqual({ kind: "stop", promptId: first.prompt.id });
    await call(`/sessions/${id}/prompts/${first.prompt.id}/done`, sessionToken, { body: { status: "stopped" } });
    expect(await next(id, sessionToken)).toEqual({ kind: "exit", reason: "session stopped" });
    expect((await listPrompts(database.db, id))[0]!.status).toBe("stopped");
  });

  it("fails a session whose runner stops heartbeating, keeping its prompts", async () => {
    const id = await newSession();
    const { sessionToken } = await claim(id);
    await next(id, sessionToken);
    await new Promise((r) => setTimeout(r, 20));
    // Other tests in this file left runs claimed too; this one must be among the reaped.
    expect(await inspect.runners.reap(10, 60_000)).toBeGreaterThanOrEqual(1);
    const session = await getSession(database.db, id);
    expect(session?.status).toBe("failed");
    expect(session?.statusReason).toMatch(/stopped responding .* Its prompts are kept/);
    expect((await listPrompts(database.db, id)).map((p) => p.status)).toEqual(["queued"]);
    expect((await events(id)).some((e) => e.type === "error")).toBe(true);
    // A follow-up resumes with a new run on the same branch.
    await deliver(inspect, "issue_comment", issueComment("@inspect try again", { issue: session!.threadNumber! }));
    await inspect.tasks.drain();
    expect((await getSession(database.db, id))?.status).toBe("queued");
    expect(gh.find("POST", /dispatches$/)).toHaveLength(2);
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
      [`/sessions/${id}/events`, { events: [{ type: "prompt.queued", data: { promptId: 1, text: "x", author: { login: "a" }, source: "web" } }] }],
      [`/sessions/${id}/events`, { events: [{ type: "tool.call", data: { callId: "c", tool: "bash", status: "exploded" } }] }],
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

  it("refuses a wrong session token", async () => {
    const id = await newSession();
    await claim(id);
    expect((await call(`/sessions/${id}/next`, "not-the-token")).status).toBe(401);
    expect((await call(`/sessions/${id}/events`, "not-the-token", { body: { events: [{ type: "error", data: { message: "x" } }] } })).status).toBe(401);
  });
});
