/**
 * The write side of the web, over real HTTP with Inspect running as the GitHub App
 * (GitHub faked at the HTTP boundary, runners dispatched as Actions workflows):
 * warming a sandbox while someone types, starting a session from the new-session
 * form, and who may queue, cancel and stop. Readers are refused (403) and nothing
 * changes; writers get the real thing (session rows, prompts, runner dispatches).
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listPrompts } from "../db/prompts.js";
import { sessions, users } from "../db/schema.js";
import { getSession } from "../db/sessions.js";
import { RUNNER_REPO, signIn, startWebStack, type WebStack } from "../../test/support/web-stack.js";

let stack: WebStack;
let alice: string; // write access
let bob: string; // write access
let rita: string; // read access only
const writer = { "acme/widgets": { pull: true, push: true } };

beforeAll(async () => {
  stack = await startWebStack(
    { alice: writer, bob: writer, rita: { "acme/widgets": { pull: true, push: false } } },
    { withRooms: false, githubApp: true },
  );
  [alice, bob, rita] = await Promise.all([signIn(stack, "alice"), signIn(stack, "bob"), signIn(stack, "rita")]);
});
afterAll(async () => {
  await stack?.close();
});

const call = async (method: string, path: string, cookie: string, body?: unknown) => {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      cookie,
      accept: "application/json",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const db = () => stack.inspect.database.db;
const allSessions = () => db().select().from(sessions);
/** Warm sandboxes no prompt has adopted yet, optionally only those `login` warmed. */
async function warmSessions(login?: string) {
  const [user] = login ? await db().select().from(users).where(eq(users.login, login)) : [];
  return (await allSessions()).filter((s) => s.threadKind === "warm" && (!login || s.createdByUserId === user?.id));
}

describe("warm-up (POST /api/warmup)", () => {
  it("does nothing for a reader: no warm session, no runner", async () => {
    const res = await call("POST", "/api/warmup", rita, { repo: "acme/widgets" });
    expect(res).toEqual({ status: 202, body: { warming: false } });
    expect(stack.github.dispatches).toEqual([]);
    expect(await warmSessions()).toEqual([]);
  });

  it("warms a sandbox for a writer: a warm session row and a runner dispatched for it, once while they type", async () => {
    const res = await call("POST", "/api/warmup", alice, { repo: "acme/widgets" });
    expect(res).toEqual({ status: 202, body: { warming: true } });
    const warm = await warmSessions("alice");
    expect(warm).toHaveLength(1);
    expect(warm[0]).toMatchObject({
      repositoryId: stack.repo.id,
      status: "queued",
      baseBranch: "main",
      headBranch: `inspect/${warm[0]!.id}`,
    });
    expect(stack.github.dispatches).toEqual([
      {
        repo: RUNNER_REPO,
        workflow: "inspect-runner.yml",
        ref: "main",
        inputs: { session_id: warm[0]!.id, control_plane_url: stack.url },
      },
    ]);

    // More keystrokes: the same sandbox, no second runner.
    expect(await call("POST", "/api/warmup", alice, { repo: "acme/widgets" })).toEqual({
      status: 202,
      body: { warming: true },
    });
    expect(await warmSessions("alice")).toHaveLength(1);
    expect(stack.github.dispatches).toHaveLength(1);
    // Not a session yet: the list does not show it.
    const list = await call("GET", "/api/sessions", alice);
    expect((list.body.sessions as { id: string }[]).map((s) => s.id)).not.toContain(warm[0]!.id);
  });

  it("answers 404 for a repository Inspect does not know, without warming anything", async () => {
    expect((await call("POST", "/api/warmup", alice, { repo: "acme/unknown" })).status).toBe(404);
    expect(stack.github.dispatches).toHaveLength(1);
  });
});

describe("starting a session (POST /api/sessions)", () => {
  it("refuses malformed bodies with 400 and writes nothing", async () => {
    const before = { sessions: (await allSessions()).length, dispatches: stack.github.dispatches.length };
    for (const body of [
      "{not json",
      {},
      { repo: "acme/widgets" },
      { repo: "acme/widgets", prompt: "   " },
      { repo: "acme/widgets", prompt: "x", model: "no model" },
      { repo: "", prompt: "x" },
    ]) {
      const res = await call("POST", "/api/sessions", bob, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toEqual(expect.any(String));
    }
    expect((await allSessions()).length).toBe(before.sessions);
    expect(stack.github.dispatches.length).toBe(before.dispatches);
  });

  it("refuses a reader with 403 and writes nothing", async () => {
    const before = { sessions: (await allSessions()).length, dispatches: stack.github.dispatches.length };
    const res = await call("POST", "/api/sessions", rita, { repo: "acme/widgets", prompt: "Rewrite everything" });
    expect(res).toEqual({ status: 403, body: { error: "you need write access to acme/widgets" } });
    expect((await allSessions()).length).toBe(before.sessions);
    expect(stack.github.dispatches.length).toBe(before.dispatches);
  });

  it("refuses a writer's session started from another site (a no-cors fetch from any page) and writes nothing", async () => {
    const before = { sessions: (await allSessions()).length, dispatches: stack.github.dispatches.length };
    const crossSite = await fetch(`${stack.url}/api/sessions`, {
      method: "POST",
      headers: {
        cookie: bob,
        origin: "https://evil.test",
        "sec-fetch-site": "cross-site",
        "content-type": "text/plain",
      },
      body: JSON.stringify({ repo: "acme/widgets", prompt: "Leak the secrets" }),
    });
    expect(crossSite.status).toBe(403);
    const warm = await fetch(`${stack.url}/api/warmup`, {
      method: "POST",
      headers: { cookie: bob, origin: "https://evil.test", "content-type": "application/json" },
      body: JSON.stringify({ repo: "acme/widgets" }),
    });
    expect(warm.status).toBe(403);
    expect((await allSessions()).length).toBe(before.sessions);
    expect(stack.github.dispatches.length).toBe(before.dispatches);
  });

  it("starts a writer's session: 201 with its id, the prompt from the web, a runner dispatched", async () => {
    const dispatched = stack.github.dispatches.length;
    const res = await call("POST", "/api/sessions", bob, {
      repo: "acme/widgets",
      prompt: "Add a dark mode toggle",
      model: "openai/gpt-x",
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect(res.body).toEqual({ id, url: `${stack.url}/sessions/${id}`, status: "queued" });
    expect(await getSession(db(), id)).toMatchObject({
      repositoryId: stack.repo.id,
      threadKind: "web",
      title: "Add a dark mode toggle",
      model: "openai/gpt-x",
      baseBranch: "main",
    });
    expect((await listPrompts(db(), id)).map((p) => [p.authorLogin, p.source, p.text, p.status])).toEqual([
      ["bob", "web", "Add a dark mode toggle", "queued"],
    ]);
    expect(stack.github.dispatches.slice(dispatched).map((d) => d.inputs.session_id)).toEqual([id]);
    // The page the form goes to next.
    expect((await fetch(`${stack.url}/sessions/${id}`, { headers: { cookie: bob, accept: "text/html" } })).status).toBe(
      200,
    );
  });

  it("puts the prompt on the writer's warm sandbox instead of starting another runner", async () => {
    const [warm] = await warmSessions("alice");
    const dispatched = stack.github.dispatches.length;
    const res = await call("POST", "/api/sessions", alice, { repo: "acme/widgets", prompt: "Fix the flaky test" });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe(warm!.id);
    expect(await getSession(db(), warm!.id)).toMatchObject({ threadKind: "web", title: "Fix the flaky test" });
    expect((await listPrompts(db(), warm!.id)).map((p) => [p.authorLogin, p.source, p.text])).toEqual([
      ["alice", "web", "Fix the flaky test"],
    ]);
    expect(stack.github.dispatches.length).toBe(dispatched);
  });
});

describe("queueing, cancelling and stopping need write access", () => {
  const SID = "sessWrite01";
  let alicePrompt: number;
  const state = async () => ({
    status: (await getSession(db(), SID))!.status,
    prompts: (await listPrompts(db(), SID)).map((p) => [p.id, p.authorLogin, p.status, p.text]),
  });

  beforeAll(async () => {
    await stack.createSession(SID, "Guarded work", "alice");
    const queued = await call("POST", `/api/sessions/${SID}/prompts`, alice, { text: "Also update the docs" });
    expect(queued.status).toBe(201);
    alicePrompt = queued.body.promptId as number;
  });

  it("a reader cannot queue a prompt (403), and none is added", async () => {
    const before = await state();
    expect(await call("POST", `/api/sessions/${SID}/prompts`, rita, { text: "Delete the tests" })).toEqual({
      status: 403,
      body: { error: "you need write access to this repository" },
    });
    // Access is decided before the body is read: a reader's malformed body is a 403 too.
    expect((await call("POST", `/api/sessions/${SID}/prompts`, rita, { text: 42 })).status).toBe(403);
    expect(await state()).toEqual(before);
  });

  it("a reader cannot stop the session (403), and it keeps running", async () => {
    const before = await state();
    expect(before.status).toBe("running");
    expect(await call("POST", `/api/sessions/${SID}/stop`, rita)).toEqual({
      status: 403,
      body: { error: "you need write access to this repository" },
    });
    expect(await state()).toEqual(before);
  });

  it("only a prompt's author can cancel it: another writer gets 403 (a reader too), and it stays queued", async () => {
    const before = await state();
    expect(before.prompts).toContainEqual([alicePrompt, "alice", "queued", "Also update the docs"]);
    expect(await call("DELETE", `/api/sessions/${SID}/prompts/${alicePrompt}`, bob)).toEqual({
      status: 403,
      body: { error: "only the prompt's author can cancel it" },
    });
    expect((await call("DELETE", `/api/sessions/${SID}/prompts/${alicePrompt}`, rita)).status).toBe(403);
    expect(await state()).toEqual(before);
  });

  it("refuses a malformed prompt with 400 and adds nothing", async () => {
    const before = await state();
    for (const body of ["{not json", {}, { text: "" }, { text: "   " }, { text: 42 }, { text: "x".repeat(100_001) }]) {
      expect(
        (await call("POST", `/api/sessions/${SID}/prompts`, alice, body)).status,
        JSON.stringify(body).slice(0, 40),
      ).toBe(400);
    }
    expect((await call("DELETE", `/api/sessions/${SID}/prompts/not-a-number`, alice)).status).toBe(400);
    expect(await state()).toEqual(before);
  });

  it("the author and writers can: bob queues, alice cancels her prompt, bob stops", async () => {
    const added = await call("POST", `/api/sessions/${SID}/prompts`, bob, { text: "And the changelog" });
    expect(added.status).toBe(201);
    expect(await call("DELETE", `/api/sessions/${SID}/prompts/${alicePrompt}`, alice)).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect(await call("POST", `/api/sessions/${SID}/stop`, bob)).toEqual({ status: 200, body: { ok: true } });
    const after = await state();
    expect(after.status).toBe("stopped");
    expect(after.prompts).toEqual([
      [alicePrompt, "alice", "cancelled", "Also update the docs"],
      [added.body.promptId, "bob", "cancelled", "And the changelog"], // stopping cancels what was still queued
    ]);
  });
});
