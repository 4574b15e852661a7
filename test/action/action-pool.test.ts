/**
 * The warm pool in `actions` mode: the real control plane with INSPECT_RUNNER=actions and
 * INSPECT_POOL_SIZE=1, GitHub faked at HTTP by the fake GitHub Enterprise host (REST + git smart
 * HTTP over a local bare repository), the bundled action run as a runner runs it (`node
 * action/dist/index.js`, inputs as INPUT_*), its OIDC token from a stand-in of the Actions token
 * service signed by a test issuer the control plane trusts, the real sandbox and OpenCode against
 * the scripted model.
 *
 * A repository becomes active with its first session; the pool dispatches a slot job for it
 * (inputs slot_id and control_plane_url); the job claims the slot with its OIDC token, bound to
 * that dispatch, prepares and reports ready; the next comment's session takes it. Refused: a token
 * of another run, a used one, a session job's token against a slot and a slot job's against a
 * session. A slot job that does not take its session has its workflow run cancelled.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../app/db/client.js";
import { listPrompts } from "../../app/db/prompts.js";
import { poolSlots, runs } from "../../app/db/schema.js";
import { getSession, listSessions } from "../../app/db/sessions.js";
import type { Inspect } from "../../app/server.js";
import { runActionJob } from "../support/action-job.js";
import { startActionsStack, type ActionsStack } from "../support/actions-stack.js";
import type { FakeGhe, WorkflowDispatch } from "../support/fake-ghe.js";
import { deliver } from "../support/inspect.js";
import { textStep, toolStep, type ModelServer } from "../support/model-server.js";
import { startTokenService, type TestIssuer, type TokenService } from "../support/oidc-issuer.js";
import { issueComment } from "../support/payloads.js";
import { jobClaims } from "../support/runner-client.js";
import { processesMentioning, waitForNoProcesses } from "../support/sandbox-harness.js";
import { ofType, until } from "../support/wait.js";

const AUDIENCE = "https://inspect.test";

describe("the warm pool in actions mode, against a fake GitHub Enterprise host", () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "inspect-action-pool-"));
  let stack: ActionsStack;
  let bare: string;
  let fake: FakeGhe;
  let model: ModelServer;
  let issuer: TestIssuer;
  let db: Database;
  let inspect: Inspect;
  let controlPlane: string;
  const services: TokenService[] = [];

  beforeAll(async () => {
    stack = await startActionsStack(
      work,
      { "README.md": "# widgets\n", "src/login.ts": "export const login = () => null;\n" },
      { INSPECT_POOL_SIZE: "1", INSPECT_POOL_MAX: "1" },
    );
    ({ bare, fake, model, issuer, db, inspect, controlPlane } = stack);
  });

  afterAll(async () => {
    for (const s of services) await s.close();
    await stack?.close();
    const left = processesMentioning(work);
    rmSync(work, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  /** The Actions token service of the job GitHub started for `runId`: it signs that run's claims. */
  async function tokenServiceFor(runId: number): Promise<TokenService> {
    const service = await startTokenService(issuer, "request-token", (aud) => jobClaims(runId, { aud }));
    services.push(service);
    return service;
  }

  /** Run the bundled action as the runner does; resolves when the job ends. */
  function runAction(inputs: Record<string, string>, tokens: TokenService, runnerTemp: string) {
    return runActionJob({
      ...inputs,
      "INPUT_CONTROL-PLANE-URL": controlPlane,
      INPUT_AUDIENCE: AUDIENCE,
      ACTIONS_ID_TOKEN_REQUEST_URL: tokens.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
      RUNNER_TEMP: runnerTemp,
    });
  }

  const slotDispatches = () => fake.dispatches.filter((d) => "slot_id" in d.inputs);
  const slot = async (id: string) => (await db.db.select().from(poolSlots).where(eq(poolSlots.id, id)))[0]!;
  async function comment(issue: number, text: string): Promise<string> {
    expect((await deliver(inspect, "issue_comment", issueComment(text, { issue, login: "alice" }))).status).toBe(200);
    await inspect.tasks.drain();
    return (await listSessions(db.db)).find((s) => s.threadNumber === issue)!.id;
  }
  async function post(route: string, token: string, body: unknown) {
    const res = await fetch(`${controlPlane}/api/runner${route}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  }
  const claimSlot = (slotId: string, token: string) => post("/pool/claim", token, { slotId });
  const claimSession = (sessionId: string, token: string) => post("/claim", token, { sessionId });

  let firstSession = "";
  let firstSlot: WorkflowDispatch;

  it("the first session makes the repository active: the pool dispatches a slot job (slot_id, nothing secret) beside the session's own", async () => {
    firstSession = await comment(1, "@inspect say hello");
    const [sessionJob] = fake.dispatches;
    expect(sessionJob!.inputs).toEqual({ session_id: firstSession, control_plane_url: AUDIENCE });
    firstSlot = await until("a slot job dispatched", () => slotDispatches()[0], 30_000);
    expect(firstSlot).toMatchObject({ repo: "acme/inspect-runner", workflow: "inspect-runner.yml", ref: "main" });
    expect(Object.keys(firstSlot.inputs).sort()).toEqual(["control_plane_url", "slot_id"]);
    expect(firstSlot.inputs.control_plane_url).toBe(AUDIENCE);
    // The run the dispatch answered is the one its claim must come from.
    expect(await slot(String(firstSlot.inputs.slot_id))).toMatchObject({
      state: "starting",
      purpose: "pool",
      githubRunId: firstSlot.runId,
      claimTokenHash: null,
    });
  }, 60_000);

  it("refused, changing nothing: another run's token for the slot, the session job's token for the slot, the slot job's token for the session", async () => {
    const slotId = String(firstSlot.inputs.slot_id);
    const sessionRun = fake.dispatches.find((d) => d.inputs.session_id === firstSession)!.runId;
    const cases: [string, Promise<{ status: number; json: Record<string, any> }>, number, RegExp][] = [
      [
        "another run's token",
        claimSlot(slotId, await issuer.sign(jobClaims(firstSlot.runId + 1_000))),
        403,
        new RegExp(`workflow run ${firstSlot.runId + 1_000}, not run ${firstSlot.runId} dispatched for pool slot`),
      ],
      [
        "the session job's token against the slot",
        claimSlot(slotId, await issuer.sign(jobClaims(sessionRun))),
        403,
        new RegExp(`workflow run ${sessionRun}, not run ${firstSlot.runId} dispatched for pool slot ${slotId}`),
      ],
      [
        "the slot job's token against the session",
        claimSession(firstSession, await issuer.sign(jobClaims(firstSlot.runId))),
        403,
        new RegExp(`workflow run ${firstSlot.runId}, not run ${sessionRun} dispatched for session ${firstSession}`),
      ],
      [
        "a token of another workflow",
        claimSlot(slotId, await issuer.sign(jobClaims(firstSlot.runId, { event_name: "push" }))),
        401,
        /push event/,
      ],
    ];
    for (const [label, pending, status, error] of cases) {
      const res = await pending;
      expect(res.status, label).toBe(status);
      expect(res.json.error, label).toMatch(error);
    }
    expect(await slot(slotId)).toMatchObject({ state: "starting", tokenHash: null, githubRunId: firstSlot.runId });
    expect((await getSession(db.db, firstSession))?.status).toBe("queued");
  });

  it("the slot job claims with its OIDC token, prepares and reports ready; a comment's session takes it: alice's commit on the session's branch, pushed; the token is not used twice", async () => {
    const slotId = String(firstSlot.inputs.slot_id);
    const tokens = await tokenServiceFor(firstSlot.runId);
    const runnerTemp = mkdtempSync(path.join(work, "runner-temp-"));
    const job = runAction({ "INPUT_SLOT-ID": slotId }, tokens, runnerTemp);
    const ready = await until(
      "the slot ready",
      async () => ((await slot(slotId)).state === "ready" ? slot(slotId) : null),
      120_000,
    );
    expect(ready).toMatchObject({ githubRunId: firstSlot.runId, purpose: "pool", sessionId: null });
    expect(tokens.audiences).toEqual([AUDIENCE]);
    // The job's token was spent on its claim.
    const replay = await claimSlot(slotId, tokens.minted[0]!);
    expect(replay.status).toBe(401);
    expect(replay.json.error).toMatch(/already used/);

    const dispatched = fake.dispatches.length;
    model.reset([
      toolStep({ name: "write", args: { filePath: "src/pooled.md", content: "From the pool.\n" } }),
      textStep("Wrote it."),
    ]);
    const session = await comment(2, "@inspect write a note");
    const { code, output } = await job;
    const log = await inspect.sessions.deps.events.list(session, 0);
    expect(code, `${output}\n${JSON.stringify(log.filter((e) => e.type === "error"))}`).toBe(0);
    expect(output).toContain(`claimed pool slot ${slotId} (acme/widgets at main)`);
    expect(output).toContain(`assigned session ${session}`);
    expect(output).toContain("exited (idle)");
    // No job was dispatched for the session: the pooled one ran it.
    expect(fake.dispatches.slice(dispatched).filter((d) => d.inputs.session_id === session)).toEqual([]);
    const [run] = await db.db.select().from(runs).where(eq(runs.sessionId, session));
    expect(run!.runnerInfo).toMatchObject({ poolSlot: slotId });
    expect(await slot(slotId)).toMatchObject({ state: "handed", sessionId: session });

    const finished = ofType(log, "prompt.finished");
    expect(finished.map((e) => e.data.status)).toEqual(["done"]);
    const sha = finished[0]!.data.commits[0]!.sha;
    const branch = (await getSession(db.db, session))!.headBranch;
    expect(branch).not.toContain("inspect-pool");
    const bareGit = (...args: string[]) =>
      execFileSync("git", ["--git-dir", bare, ...args], { encoding: "utf8" }).trim();
    expect(bareGit("rev-parse", `refs/heads/${branch}`)).toBe(sha);
    expect(bareGit("rev-parse", `${sha}^`)).toBe(bareGit("rev-parse", "refs/heads/main"));
    expect(bareGit("show", `${sha}:src/pooled.md`)).toBe("From the pool.");
    expect(bareGit("log", "-1", "--format=%an", sha)).toBe("alice");
    expect((await listPrompts(db.db, session)).map((p) => p.status)).toEqual(["done"]);
    // Before the session, only a read-only token; the session's push used one minted at the hand-over.
    const repoTokens = fake.tokens.filter((t) => t.body.repositories);
    expect(repoTokens.map((t) => t.body.permissions.contents)).toEqual(["read", "write"]);
    expect(await waitForNoProcesses(runnerTemp, 10_000)).toEqual([]);
  }, 180_000);

  it("a slot job that does not take its session has its workflow run cancelled, and the session goes to a fresh job; its token cannot claim that session", async () => {
    // The pool refilled after the hand-over (INSPECT_POOL_MAX=1): a second slot job.
    const second = await until("the refill's slot job", () => slotDispatches()[1], 30_000);
    const slotId = String(second.inputs.slot_id);
    // This test is that job, by hand: claim, then report ready once and never poll again.
    const token = await issuer.sign(jobClaims(second.runId));
    const claimed = await claimSlot(slotId, token);
    expect(claimed.status).toBe(200);
    expect(claimed.json.pool).toMatchObject({ slotId, purpose: "pool", repo: { fullName: "acme/widgets" } });
    expect(await claimSlot(slotId, token)).toMatchObject({ status: 401 });
    expect((await claimSlot(slotId, await issuer.sign(jobClaims(second.runId)))).status).toBe(409);
    const poll = await fetch(`${controlPlane}/api/runner/pool/${slotId}/next?wait=0&ready=1`, {
      headers: { authorization: `Bearer ${claimed.json.slotToken}` },
    });
    expect(await poll.json()).toEqual({ kind: "none" });

    const session = await comment(3, "@inspect never picked up");
    expect(await slot(slotId)).toMatchObject({ state: "assigned", sessionId: session });
    // From here the host answers dispatches 204, as older GitHub Enterprise Server (the next test's slot, this session's job).
    fake.dispatchAnswer = "no-content";
    // Not taken within the pickup time: the slot ends, its run is cancelled, the session dispatched.
    await until("the slot job's run cancelled", () => fake.cancelled.includes(second.runId), 30_000);
    expect(fake.find("POST", new RegExp(`/actions/runs/${second.runId}/cancel$`))).toHaveLength(1);
    expect((await slot(slotId)).state).toBe("ended");
    const fresh = await until("a job for the session", () =>
      fake.dispatches.find((d) => d.inputs.session_id === session),
    );
    expect(fresh.runId).not.toBe(second.runId);
    expect((await getSession(db.db, session))?.status).toBe("queued");
    const refused = await claimSession(session, await issuer.sign(jobClaims(second.runId)));
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatch(new RegExp(`is named "${slotId}", not after session ${session}`));
  }, 60_000);

  it("where the host does not say which run a dispatch started (204), a slot's claim is checked by the run's name: the slot id", async () => {
    try {
      // The previous slot ended: the pool dispatched the next, answered 204.
      await inspect.pool.settled();
      const third = await until("the next slot job", () => slotDispatches()[2], 30_000);
      const slotId = String(third.inputs.slot_id);
      expect((await slot(slotId)).githubRunId).toBeNull();
      const sessionRun = fake.dispatches.find((d) => d.inputs.session_id === firstSession)!.runId;
      const named = await claimSlot(slotId, await issuer.sign(jobClaims(sessionRun)));
      expect(named.status).toBe(403);
      expect(named.json.error).toMatch(new RegExp(`is named "${firstSession}", not after pool slot ${slotId}`));
      expect((await claimSlot(slotId, await issuer.sign(jobClaims(third.runId)))).status).toBe(200);
      expect(await slot(slotId)).toMatchObject({ githubRunId: third.runId });
    } finally {
      fake.dispatchAnswer = "run-details";
    }
  }, 60_000);
});
