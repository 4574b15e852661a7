/**
 * Child sessions through the runner API, with this test as the parent's runner (GitHub faked at
 * the HTTP boundary): a spawned child is a full session — dispatched, attributed to the parent's
 * requester, linked — and the caps, another repository without write access, and a stranger's
 * session are refused with a message for the agent and nothing created. Stopping the parent
 * stops its running children; the parent's log follows its children.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../db/client.js";
import { listPrompts } from "../db/prompts.js";
import { getSession, listSessions } from "../db/sessions.js";
import type { Inspect } from "../server.js";
import type { FakeGitHub } from "../../test/support/fake-github.js";
import { useGitHubStack } from "../../test/support/github-stack.js";
import { deliver } from "../../test/support/inspect.js";
import { issueComment } from "../../test/support/payloads.js";
import { until } from "../../test/support/wait.js";
import { listChildren } from "./queries.js";

const stack = useGitHubStack({
  env: {
    INSPECT_HEARTBEAT_TIMEOUT: "30",
    INSPECT_CHILD_DEPTH: "2",
    INSPECT_CHILD_MAX: "2",
    INSPECT_SESSION_BUDGET_USD: "0.01",
  },
  permissions: { alice: "write" },
});
let database: Database;
let inspect: Inspect;
let gh: FakeGitHub;
beforeEach(() => {
  ({ database, inspect, gh } = stack);
});
const { call, claim } = stack.runner;

let issueNo = 700;
/** A session started by alice's comment, claimed: its id and runner token. */
async function parentSession(): Promise<{ id: string; token: string }> {
  const n = ++issueNo;
  await deliver(inspect, "issue_comment", issueComment("@inspect split this up", { issue: n }));
  await inspect.tasks.drain();
  const id = (await listSessions(database.db)).find((s) => s.threadNumber === n)!.id;
  return { id, token: (await claim(id)).sessionToken };
}

const spawn = (p: { id: string; token: string }, body: Record<string, unknown>) =>
  call(`/sessions/${p.id}/children`, p.token, { body });

describe("child sessions", () => {
  it("spawns a full session in the same repository, attributed to the parent's requester", async () => {
    const parent = await parentSession();
    const res = await spawn(parent, { prompt: "Add a CHANGELOG entry", title: "Changelog" });
    expect(res.status).toBe(200);
    const childId = res.json.id as string;
    expect(res.json).toMatchObject({
      url: `https://inspect.test/sessions/${childId}`,
      repository: "acme/widgets",
      title: "Changelog",
      status: "queued",
      prUrl: null,
    });
    const child = (await getSession(database.db, childId))!;
    expect(child.parentSessionId).toBe(parent.id);
    expect(child.headBranch).toMatch(new RegExp(`^inspect/${childId}-changelog`));
    const [prompt] = await listPrompts(database.db, childId);
    expect(prompt).toMatchObject({ authorLogin: "alice", source: "session", text: "Add a CHANGELOG entry" });
    // Dispatched like any other session: its own runner job.
    expect(gh.runFor(childId)).toBeDefined();

    const listed = await call(`/sessions/${parent.id}/children`, parent.token);
    expect(listed.json.children.map((c: { id: string }) => c.id)).toEqual([childId]);
    const status = await call(`/sessions/${parent.id}/children/${childId}`, parent.token);
    expect(status.json).toMatchObject({ id: childId, status: "queued", lastAssistantText: null });
    const follow = await call(`/sessions/${parent.id}/children/${childId}/prompts`, parent.token, {
      body: { prompt: "Also mention the fix" },
    });
    expect(follow.status).toBe(200);
    expect((await listPrompts(database.db, childId)).map((p) => p.text)).toEqual([
      "Add a CHANGELOG entry",
      "Also mention the fix",
    ]);
  });

  it("refuses past INSPECT_CHILD_MAX and INSPECT_CHILD_DEPTH, creating nothing", async () => {
    const parent = await parentSession();
    expect((await spawn(parent, { prompt: "one" })).status).toBe(200);
    const second = await spawn(parent, { prompt: "two" });
    expect(second.status).toBe(200);
    const before = (await listSessions(database.db)).length;
    const third = await spawn(parent, { prompt: "three" });
    expect(third.status).toBe(429);
    expect(third.json.error).toMatch(/spawned 2 child sessions.*INSPECT_CHILD_MAX=2/);

    // Depth: the child (1) may spawn a grandchild (2), which may spawn no further.
    const child = { id: second.json.id as string, token: (await claim(second.json.id)).sessionToken };
    const grandchild = await spawn(child, { prompt: "deeper" });
    expect(grandchild.status).toBe(200);
    const g = { id: grandchild.json.id as string, token: (await claim(grandchild.json.id)).sessionToken };
    const tooDeep = await spawn(g, { prompt: "deeper still" });
    expect(tooDeep.status).toBe(429);
    expect(tooDeep.json.error).toMatch(/3 levels below a person's session.*limit is 2 \(INSPECT_CHILD_DEPTH\)/);
    expect(await listChildren(database.db, g.id)).toEqual([]);
    expect((await listSessions(database.db)).length).toBe(before + 1);
  });

  it("spawns in another repository only where the requester can write", async () => {
    gh.on("GET", /^\/repos\/acme\/(secret|gadgets)$/, (m) => [
      200,
      { id: m[1] === "secret" ? 4401 : 4402, default_branch: "main", private: true },
    ]);
    gh.on("GET", /^\/repos\/acme\/secret\/collaborators\/alice\/permission$/, () => [
      200,
      { permission: "read", role_name: "read", user: { login: "alice" } },
    ]);
    const parent = await parentSession();
    const refused = await spawn(parent, { prompt: "peek", repository: "acme/secret" });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatch(/write access to acme\/secret/);
    expect(await listChildren(database.db, parent.id)).toEqual([]);

    const elsewhere = await spawn(parent, { prompt: "port the fix", repository: "acme/gadgets" });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.json.repository).toBe("acme/gadgets");
  });

  it("keeps a session to its own children, and its token to itself", async () => {
    const a = await parentSession();
    const b = await parentSession();
    const child = (await spawn(a, { prompt: "mine" })).json.id as string;
    const stranger = await call(`/sessions/${b.id}/children/${child}`, b.token);
    expect(stranger.status).toBe(404);
    expect((await call(`/sessions/${b.id}/children/${child}/cancel`, b.token, { body: {} })).status).toBe(404);
    expect((await call(`/sessions/${a.id}/children`, b.token)).status).toBe(401);
    expect((await getSession(database.db, child))?.status).toBe("queued");
    expect((await spawn(a, { prompt: "" })).status).toBe(400);
    expect((await spawn(a, { prompt: "x", repository: "not a repo" })).status).toBe(400);
  });

  it("stops running children when the parent is stopped, and tells the parent how they are", async () => {
    const parent = await parentSession();
    const childId = (await spawn(parent, { prompt: "long work" })).json.id as string;
    await stack.runner.claim(childId);
    await inspect.sessions.stop(parent.id, "alice");
    await inspect.tasks.drain();
    await inspect.tasks.drain();
    expect((await getSession(database.db, childId))?.status).toBe("stopped");
    const updates = (await inspect.sessions.deps.events.list(parent.id)).filter((e) => e.type === "child.updated");
    expect(updates.map((e) => (e.data as { status: string }).status)).toEqual(
      expect.arrayContaining(["queued", "starting", "stopped"]),
    );
  });

  it("lists the children's pull requests in the parent's status comment", async () => {
    const parent = await parentSession();
    const childId = (await spawn(parent, { prompt: "Add a CHANGELOG entry", title: "Changelog" })).json.id as string;
    const child = await claim(childId);
    await stack.runner.push(childId, child.sessionToken, "abc1234", child.session.headBranch);
    await until("the parent's status comment listing the child's PR", async () => {
      await inspect.tasks.drain();
      const pr = (await getSession(database.db, childId))?.prUrl;
      const edits = gh.find("PATCH", /\/issues\/comments\/\d+$/).map((c) => String(c.body?.body ?? ""));
      return (
        pr &&
        edits.some((b) =>
          b.includes(`Child sessions:\n- [Changelog](https://inspect.test/sessions/${childId}): pull request ${pr}`),
        )
      );
    });
  });

  it("counts the children's spend against the parent's budget: in every prompt's handout, and at spawn", async () => {
    const usage = (cost: number) => ({ inputTokens: 100, outputTokens: 10, cost });
    const parent = await parentSession();
    const first = await stack.runner.take(parent.id, parent.token);
    expect(first.sessionCostUsd).toBe(0);

    const childId = (await spawn(parent, { prompt: "research" })).json.id as string;
    const child = await claim(childId);
    const childPrompt = await stack.runner.take(childId, child.sessionToken);
    expect(childPrompt.sessionCostUsd).toBe(0);
    await stack.runner.done(childId, child.sessionToken, childPrompt.id, { status: "done", usage: usage(0.004) });
    await stack.runner.done(parent.id, parent.token, first.id, { status: "done", usage: usage(0.002) });

    // The family has spent $0.006: the parent's next prompt and its child's next both start from it.
    await deliver(inspect, "issue_comment", issueComment("@inspect and the docs", { issue: issueNo }));
    await inspect.tasks.drain();
    expect((await stack.runner.take(parent.id, parent.token)).sessionCostUsd).toBeCloseTo(0.006, 9);
    await call(`/sessions/${parent.id}/children/${childId}/prompts`, parent.token, { body: { prompt: "more" } });
    const childNext = await stack.runner.take(childId, child.sessionToken);
    expect(childNext.sessionCostUsd).toBeCloseTo(0.006, 9);

    // A grandchild's spend counts too; at $0.01 of $0.01 nothing is left for another child.
    const grandId = (await spawn({ id: childId, token: child.sessionToken }, { prompt: "dig" })).json.id as string;
    const grand = await claim(grandId);
    const grandPrompt = await stack.runner.take(grandId, grand.sessionToken);
    expect(grandPrompt.sessionCostUsd).toBeCloseTo(0.006, 9);
    await stack.runner.done(grandId, grand.sessionToken, grandPrompt.id, { status: "done", usage: usage(0.004) });
    const before = (await listSessions(database.db)).length;
    const refused = await spawn(parent, { prompt: "one more" });
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatch(
      /this session and its child sessions have spent \$0\.01 of the session budget of \$0\.01 \(INSPECT_SESSION_BUDGET_USD\)/,
    );
    expect((await listSessions(database.db)).length).toBe(before);
    // Another person's session is a family of its own.
    const other = await parentSession();
    expect((await stack.runner.take(other.id, other.token)).sessionCostUsd).toBe(0);
  });

  it("cancel_session stops one child", async () => {
    const parent = await parentSession();
    const childId = (await spawn(parent, { prompt: "stop me" })).json.id as string;
    const res = await call(`/sessions/${parent.id}/children/${childId}/cancel`, parent.token, { body: {} });
    expect(res.json).toEqual({ stopped: true });
    expect((await getSession(database.db, childId))?.status).toBe("stopped");
  });
});
