/**
 * Usage and budgets through the real control plane, sandbox and OpenCode, the model scripted.
 * Each scripted model call reports 100 input and 20 output tokens; the priced model costs
 * $3 / $15 per million, so every call costs $0.0006 — as OpenCode prices it, not as we do.
 *
 * Caps here: $0.002 a prompt (reached on the 4th call), $0.003 a session (on the 5th).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listPrompts } from "../../app/db/prompts.js";
import type { SessionEvent } from "../../protocol/events.js";
import { delayStep, textStep, toolStep, type ModelStep } from "../support/model-server.js";
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
import { ofType } from "../support/wait.js";

const CALL_USD = (100 * 3 + 20 * 15) / 1e6;
const PRICED = "priced/priced-model";

let h: Harness;
let current: string | null = null;

beforeAll(async () => {
  h = await startHarness({
    idleTimeoutSeconds: 30,
    providers: (model) => ({
      ...model.opencodeProvider(),
      ...model.opencodeProvider("priced", "priced-model", { input: 3, output: 15 }),
    }),
    env: { INSPECT_PROMPT_BUDGET_USD: "0.002", INSPECT_SESSION_BUDGET_USD: "0.003" },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(async () => {
  if (current) await api(h, "POST", `/api/sessions/${current}/stop`).catch(() => undefined);
  if (current) await waitForStatus(h, current, ["completed", "stopped", "failed"], 30_000);
  expect(await waitForNoProcesses(h.root, 15_000)).toEqual([]);
  current = null;
});

async function start(repo: string, prompt: string, model?: string): Promise<string> {
  const session = await api<{ id: string }>(h, "POST", "/api/sessions", { repo, prompt, model });
  current = session.id;
  return session.id;
}
const finished = (n: number) => (log: SessionEvent[]) => ofType(log, "prompt.finished").length >= n;
/** A turn that would never end on its own: a new file on every call. */
// Each call answered after a moment: the call OpenCode makes right after the one that reached a
// cap is still in flight when the turn is stopped, so it is never answered nor paid for, however
// busy the machine (the figures below stay exact).
const endless = (prefix: string): ModelStep[] =>
  Array.from({ length: 30 }, (_, i) =>
    delayStep(800, toolStep({ name: "write", args: { filePath: `${prefix}-${i}.txt`, content: `${i}\n` } })),
  );

describe("usage", () => {
  it("records each prompt's tokens, cost and model from real turns; an unpriced model's cost is unknown, not $0", async () => {
    const repo = bareRepo(h.root, "usage");
    h.model.reset([toolStep({ name: "write", args: { filePath: "a.txt", content: "a\n" } }), textStep("Wrote a.txt.")]);
    const priced = await start(repo, "Add a.txt", PRICED);
    const log = await waitForEvents(h, priced, finished(1));
    const usage = ofType(log, "prompt.finished")[0]!.data.usage!;
    expect(usage).toMatchObject({ inputTokens: 200, outputTokens: 40, model: PRICED });
    expect(usage.cost).toBeCloseTo(2 * CALL_USD, 8);
    // Live: the usage so far after each model call, the last one the final figure.
    const live = ofType(log, "prompt.usage").map((e) => e.data.usage);
    expect(live.length).toBeGreaterThanOrEqual(2);
    expect(live[0]).toMatchObject({ inputTokens: 100, outputTokens: 20 });
    expect(live.at(-1)).toEqual(usage);
    const [row] = await listPrompts(h.inspect.database.db, priced);
    expect(row!.usage).toEqual(usage);
    await api(h, "POST", `/api/sessions/${priced}/stop`);
    await waitForStatus(h, priced, ["stopped", "completed"]);
    expect(await waitForNoProcesses(h.root, 15_000)).toEqual([]);

    h.model.reset([textStep("Nothing to do.")]);
    const unpriced = await start(repo, "Say hello");
    const done = ofType(await waitForEvents(h, unpriced, finished(1)), "prompt.finished")[0]!.data;
    expect(done.status).toBe("done");
    expect(done.usage).toMatchObject({ inputTokens: 100, outputTokens: 20, model: "scripted/scripted-model" });
    expect(done.usage).not.toHaveProperty("cost");
  });
});

describe("usage of subagents", () => {
  it("counts a subagent's model calls (the task tool) in the prompt's usage", async () => {
    const repo = bareRepo(h.root, "subagent");
    h.model.reset([
      toolStep({
        name: "task",
        args: { description: "Look around", prompt: "List the files", subagent_type: "general" },
      }),
      textStep("The subagent looked."),
      textStep("All done."),
    ]);
    const id = await start(repo, "Delegate", PRICED);
    const done = ofType(await waitForEvents(h, id, finished(1)), "prompt.finished")[0]!.data;
    expect(h.model.stepRequests.length).toBe(3);
    expect(done.usage).toMatchObject({ inputTokens: 300, outputTokens: 60 });
    expect(done.usage!.cost).toBeCloseTo(3 * CALL_USD, 8);
  });
});

describe("budgets", () => {
  it("stops a turn that keeps calling tools at the prompt cap, keeps its work, and says why; the repository cannot raise the cap", async () => {
    const repo = bareRepo(h.root, "capped", {
      "README.md": "# capped\n",
      ".inspect/config.yml": "budgets:\n  prompt_usd: 100\n  session_usd: 100\n",
    });
    h.model.reset(endless("p"));
    const id = await start(repo, "Write files forever", PRICED);
    const log = await waitForEvents(h, id, finished(1));
    const done = ofType(log, "prompt.finished")[0]!.data;
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/This prompt reached its budget of \$0\.002 \(INSPECT_PROMPT_BUDGET_USD\)/);
    // The 4th call reaches $0.0024 ≥ $0.002; the turn stops before many more are made.
    expect(h.model.stepRequests.length).toBeGreaterThanOrEqual(4);
    expect(h.model.stepRequests.length).toBeLessThanOrEqual(5);
    expect(done.usage!.cost).toBeGreaterThanOrEqual(0.002);
    const said = ofType(log, "error").find((e) => e.data.code === "budget_exceeded")!;
    // Stopped within a second of the call that reached the cap; the rest is the event's trip to the log.
    // (The call is answered 800 ms after it was asked.)
    expect(Date.parse(said.ts) - (h.model.stepRequests[3]!.at + 800)).toBeLessThan(2_500);
    // The work so far is committed and pushed.
    const commit = ofType(log, "git.commit")[0]!.data;
    expect(commit.files).toBeGreaterThanOrEqual(3);
    const session = (await api(h, "GET", `/api/sessions/${id}`)).session;
    expect(git(repo, "rev-parse", session.headBranch)).toBe(ofType(log, "git.push")[0]!.data.sha);
    expect(git(repo, "show", `${session.headBranch}:p-0.txt`)).toBe("0");
    expect(session.statusReason).toMatch(/budget/);
  });

  it("a repository lowers the prompt cap; the session cap counts earlier prompts and stops the next turn", async () => {
    const repo = bareRepo(h.root, "lowered", {
      "README.md": "# lowered\n",
      ".inspect/config.yml": "budgets:\n  prompt_usd: 0.001\n",
    });
    h.model.reset(endless("q"));
    const id = await start(repo, "Write files forever", PRICED);
    const first = ofType(await waitForEvents(h, id, finished(1)), "prompt.finished")[0]!.data;
    expect(first.error).toMatch(/This prompt reached its budget of \$0\.001 \(\.inspect\/config\.yml\)/);
    expect(first.usage!.cost).toBeCloseTo(2 * CALL_USD, 8); // $0.0012: two calls

    // $0.0012 spent; the prompt cap ($0.001) stops the next turn at two calls again, $0.0024 in all.
    // A third prompt: $0.0024 + one call = $0.003 reaches the session cap.
    h.model.reset(endless("r"));
    await api(h, "POST", `/api/sessions/${id}/prompts`, { text: "More" });
    await waitForEvents(h, id, finished(2));
    h.model.reset(endless("s"));
    await api(h, "POST", `/api/sessions/${id}/prompts`, { text: "Even more" });
    const third = ofType(await waitForEvents(h, id, finished(3)), "prompt.finished")[2]!.data;
    expect(third.status).toBe("failed");
    expect(third.error).toMatch(/This session reached its budget of \$0\.003 \(INSPECT_SESSION_BUDGET_USD\)/);
    expect(h.model.stepRequests.length).toBeLessThanOrEqual(2);

    // Over the cap, a further prompt does not run at all.
    h.model.reset(endless("t"));
    await api(h, "POST", `/api/sessions/${id}/prompts`, { text: "And more" });
    const fourth = ofType(await waitForEvents(h, id, finished(4)), "prompt.finished")[3]!.data;
    expect(fourth.error).toMatch(/no further prompt runs/);
    expect(h.model.stepRequests).toHaveLength(0);
  });
});
