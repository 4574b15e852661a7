/**
 * Child sessions end to end: the real control plane, real sandboxes and real OpenCode, the
 * scripted model calling Inspect's own MCP tools (OpenCode names them `inspect_<tool>`). A
 * parent spawns a child in its repository → the child runs and pushes its branch; the parent
 * reads the child's status and sends it a follow-up; the count cap answers the agent with a tool
 * error; stopping the parent stops its running child. One model script serves every sandbox, so
 * each test orders its steps as the sessions will ask for them (a child asks seconds after it
 * was spawned: its sandbox boots first).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listChildren } from "../../app/children/queries.js";
import { poolSlots } from "../../app/db/schema.js";
import type { SessionEvent } from "../../protocol/events.js";
import { hangStep, textStep, toolStep } from "../support/model-server.js";
import {
  api,
  bareRepo,
  git,
  startHarness,
  waitForEvents,
  waitForNoProcesses,
  waitForStatus,
  type Harness,
} from "../support/sandbox-harness.js";
import { ofType, until } from "../support/wait.js";

let h: Harness;
const started: string[] = [];

beforeAll(async () => {
  h = await startHarness({ idleTimeoutSeconds: 3, env: { INSPECT_CHILD_MAX: "1" } });
});

afterAll(async () => {
  await h?.close();
});

afterEach(async () => {
  h.model.release();
  for (const id of started.splice(0))
    await waitForStatus(h, id, ["completed", "stopped", "failed"], 30_000).catch(() => undefined);
  expect(await waitForNoProcesses(h.root, 20_000)).toEqual([]);
});

async function start(repo: string, prompt: string): Promise<string> {
  const session = await api<{ id: string }>(h, "POST", "/api/sessions", { repo, prompt });
  started.push(session.id);
  return session.id;
}

const finished = (n: number) => (log: SessionEvent[]) => log.filter((e) => e.type === "prompt.finished").length >= n;
const toolCalls = (log: SessionEvent[], tool: string) =>
  ofType(log, "tool.call").filter((e) => e.data.tool === tool && ["completed", "error"].includes(e.data.status));

async function childOf(parent: string): Promise<string> {
  const child = await until("the child session", () => listChildren(h.inspect.database.db, parent).then((c) => c[0]));
  started.push(child.id);
  return child.id;
}

describe("child sessions with real OpenCode", () => {
  it("a parent spawns a child that runs and pushes; the parent reads its status and sends it a follow-up", async () => {
    const repo = bareRepo(h.root, "family");
    h.model.reset([
      toolStep({ name: "inspect_spawn_session", args: { prompt: "Add CHILD.md", title: "Child work" } }),
      textStep("Spawned a child for CHILD.md."),
      // The child's turn, once its sandbox is up.
      toolStep({ name: "write", args: { filePath: "CHILD.md", content: "from the child\n" } }),
      textStep("Child wrote CHILD.md"),
    ]);
    const parent = await start(repo, "Split the work");
    const plog = await waitForEvents(h, parent, finished(1));
    const [spawned] = toolCalls(plog, "inspect_spawn_session");
    expect(spawned?.data.status).toBe("completed");
    const childId = await childOf(parent);
    expect(spawned!.data.output).toContain(childId);

    const clog = await waitForEvents(h, childId, (log) => finished(1)(log) && ofType(log, "git.push").length > 0);
    expect(ofType(clog, "prompt.finished")[0]!.data.status).toBe("done");
    const child = (await h.inspect.sessions.get(childId))!;
    expect(child.parentSessionId).toBe(parent);
    expect(git(repo, "show", `${child.headBranch}:CHILD.md`)).toBe("from the child");
    expect(ofType(clog, "prompt.queued")[0]!.data).toMatchObject({ source: "session", text: "Add CHILD.md" });

    // The figure: spawned (the child's session row) → the child's first request to the model.
    const firstAsk = h.model.stepRequests.find((r) => {
      const asked = JSON.stringify(r.body.messages);
      return asked.includes("Add CHILD.md") && !asked.includes("Split the work");
    })!;
    const figure = firstAsk.at - child.createdAt.getTime();
    console.log(`child spawn → child's first model request: ${figure} ms`);
    expect(figure).toBeGreaterThan(0);

    // The parent's log follows the child, up to its push.
    await waitForEvents(h, parent, (log) =>
      ofType(log, "child.updated").some((e) => e.data.sessionId === childId && e.data.status !== "queued"),
    );

    h.model.push(
      toolStep({ name: "inspect_session_status", args: { session_id: childId } }),
      toolStep({ name: "inspect_send_prompt", args: { session_id: childId, prompt: "Also add NOTE.md" } }),
      textStep("Asked the child for a note."),
      toolStep({ name: "write", args: { filePath: "NOTE.md", content: "a note\n" } }),
      textStep("Added NOTE.md"),
    );
    await api(h, "POST", `/api/sessions/${parent}/prompts`, { text: "How is the child doing?" });
    const plog2 = await waitForEvents(h, parent, finished(2), 90_000);
    const [status] = toolCalls(plog2, "inspect_session_status");
    expect(status!.data.output).toContain("Child wrote CHILD.md");
    expect(status!.data.output).toContain(child.headBranch);
    expect(toolCalls(plog2, "inspect_send_prompt")[0]!.data.status).toBe("completed");
    await waitForEvents(h, childId, finished(2), 90_000);
    expect(git(repo, "show", `${child.headBranch}:NOTE.md`)).toBe("a note");
  }, 240_000);

  it("answers a spawn past INSPECT_CHILD_MAX with a tool error, creating nothing", async () => {
    const repo = bareRepo(h.root, "capped");
    h.model.reset([
      toolStep({ name: "inspect_spawn_session", args: { prompt: "First child" } }),
      toolStep({ name: "inspect_spawn_session", args: { prompt: "Second child" } }),
      textStep("One child is all I may have."),
      textStep("First child: nothing to do."),
    ]);
    const parent = await start(repo, "Spawn two");
    const log = await waitForEvents(h, parent, finished(1));
    const calls = toolCalls(log, "inspect_spawn_session");
    expect(calls).toHaveLength(2);
    const refusal = `${calls[1]!.data.output ?? ""}${calls[1]!.data.error ?? ""}`;
    expect(refusal).toMatch(/spawned 1 child sessions, the most it may \(INSPECT_CHILD_MAX=1\)/);
    await childOf(parent);
    expect(await listChildren(h.inspect.database.db, parent)).toHaveLength(1);
  }, 120_000);

  it("stopping the parent stops its running child", async () => {
    const repo = bareRepo(h.root, "stopping");
    h.model.reset([
      toolStep({ name: "inspect_spawn_session", args: { prompt: "Work for a long time" } }),
      hangStep(textStep("parent released")),
      hangStep(textStep("child released")),
    ]);
    const parent = await start(repo, "Spawn and wait");
    const childId = await childOf(parent);
    await h.model.waitForStepRequests(3, 60_000);
    await waitForStatus(h, childId, ["running"]);
    await api(h, "POST", `/api/sessions/${parent}/stop`, {});
    await waitForStatus(h, childId, ["stopped"], 10_000);
    const clog = await waitForEvents(h, childId, finished(1));
    expect(ofType(clog, "prompt.finished")[0]!.data.status).toBe("stopped");
    expect(ofType(clog, "session.status").at(-1)!.data.reason).toContain(`parent session ${parent} was stopped`);
  }, 120_000);
});

describe("child sessions from a pooled sandbox", () => {
  let p: Harness;
  beforeAll(async () => {
    p = await startHarness({ idleTimeoutSeconds: 2, env: { INSPECT_POOL_SIZE: "1" } });
  });
  afterAll(async () => {
    await p?.close();
  });

  it("a sandbox prepared before its session was known still has the tools, answering for that session", async () => {
    const repo = bareRepo(p.root, "pooled");
    // The first session makes the repository active; the pool then prepares a sandbox for it.
    p.model.reset([textStep("Nothing to do.")]);
    const first = (await api<{ id: string }>(p, "POST", "/api/sessions", { repo, prompt: "Look around" })).id;
    await waitForStatus(p, first, ["completed"], 60_000);
    const slots = async () => p.inspect.database.db.select().from(poolSlots);
    await until("a ready pooled sandbox", async () => (await slots()).some((s) => s.state === "ready"), 90_000);

    p.model.reset([
      toolStep({ name: "inspect_spawn_session", args: { prompt: "Pooled child work" } }),
      textStep("Spawned."),
      textStep("Child: nothing to do."),
    ]);
    const parent = (await api<{ id: string }>(p, "POST", "/api/sessions", { repo, prompt: "Spawn from the pool" })).id;
    const log = await waitForEvents(p, parent, finished(1), 60_000);
    expect((await slots()).some((s) => s.sessionId === parent)).toBe(true);
    expect(toolCalls(log, "inspect_spawn_session")[0]?.data.status).toBe("completed");
    const [child] = await listChildren(p.inspect.database.db, parent);
    expect(child).toBeDefined();
    for (const id of [parent, child!.id])
      await waitForStatus(p, id, ["completed", "stopped", "failed"], 60_000).catch(() => undefined);
    await p.inspect.close();
    expect(await waitForNoProcesses(p.root, 20_000)).toEqual([]);
  }, 240_000);
});
