/**
 * Faults played against the real processes: the control plane SIGKILLed mid-turn and started
 * again on the same data folder, the runner SIGKILLed mid-turn, PostgreSQL down for 5 s in the
 * middle of a turn. Real control plane, real sandbox runner, real OpenCode, real git; only the
 * model is scripted. Each fault must end in a finished turn or a clear message, lose nothing,
 * and leave nothing running.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../app/db/client.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { hangStep, startModelServer, textStep, toolStep } from "../support/model-server.js";
import { freePort } from "../support/ports.js";
import { startPostgres } from "../support/postgres.js";
import {
  api,
  bareRepo,
  git,
  processesMentioning,
  startHarness,
  waitForNoProcesses,
  type Harness,
} from "../support/sandbox-harness.js";

const write = (file: string, text: string) => toolStep({ name: "write", args: { filePath: file, content: text } });

/** GET the session until `until` holds for it (its prompts included). */
async function waitForSession(
  base: string,
  id: string,
  until: (s: { session: any; prompts: any[] }) => boolean,
  timeoutMs = 90_000,
): Promise<{ session: any; prompts: any[] }> {
  const deadline = Date.now() + timeoutMs;
  let last: { session: any; prompts: any[] } | null = null;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/api/sessions/${id}`);
      if (res.ok) {
        last = (await res.json()) as { session: any; prompts: any[] };
        if (until(last)) return last;
      }
    } catch {
      // The control plane is restarting.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`session ${id} did not get there: ${JSON.stringify(last)}`);
}

async function post(base: string, route: string, body: unknown): Promise<any> {
  const res = await fetch(base + route, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${route} → ${res.status}: ${text}`);
  return JSON.parse(text);
}

async function sessionEvents(base: string, id: string): Promise<any[]> {
  return ((await (await fetch(`${base}/api/sessions/${id}/events?since=0`)).json()) as { events: any[] }).events;
}

/**
 * A data folder, a scripted model and the env for control plane processes that share them, so
 * one can be killed and the next started on the same data. `dispose` leaves nothing running.
 */
async function crashRig(name: string, heartbeatSeconds: number) {
  const root = mkdtempSync(path.join(os.tmpdir(), `inspect-${name}-`));
  const model = await startModelServer();
  const planes: ControlPlaneProcess[] = [];
  const env = {
    PORT: String(await freePort()),
    INSPECT_DATA_DIR: path.join(root, "data"),
    INSPECT_SECRET: "c".repeat(40),
    INSPECT_MODEL: "scripted/scripted-model",
    INSPECT_OPENCODE_CONFIG: JSON.stringify({ provider: model.opencodeProvider() }),
    // Pages poll for events; no room server is needed for this.
    INSPECT_PARTY_URL: `http://127.0.0.1:${await freePort()}`,
    INSPECT_HEARTBEAT_TIMEOUT: String(heartbeatSeconds),
    INSPECT_POOL_SIZE: "0",
    // No browser: it adds an MCP server to every OpenCode boot (README → A browser in the sandbox).
    INSPECT_BROWSER: "off",
    INSPECT_IDLE_TIMEOUT: "120",
  };
  return {
    root,
    model,
    repo: bareRepo(root, name),
    runners: path.join(root, "data", "runners"),
    async start(): Promise<ControlPlaneProcess> {
      const plane = await startControlPlane(env);
      planes.push(plane);
      return plane;
    },
    async dispose() {
      for (const p of planes) await p.kill("SIGKILL");
      await model.close();
      for (const line of processesMentioning(root)) process.kill(Number(line.split(" ")[0]), "SIGKILL");
      rmSync(root, { recursive: true, force: true });
    },
  };
}

describe("the control plane killed with SIGKILL mid-turn and started again", () => {
  let rig: Awaited<ReturnType<typeof crashRig>> | null = null;
  afterAll(async () => {
    await rig?.dispose();
  });

  it("the runner rides it out: the turn finishes and is reported, a follow-up lands on the same branch, and a clean stop leaves nothing running", async () => {
    rig = await crashRig("crash", 30);
    const { model, repo, root } = rig;
    model.reset([hangStep(write("a.txt", "a\n")), textStep("wrote a"), write("b.txt", "b\n"), textStep("wrote b")]);
    const first = await rig.start();
    const { id } = await post(first.url, "/api/sessions", { repo, prompt: "Add a" });
    await model.waitForStepRequests(1, 60_000);

    // Mid-turn: the model is thinking. The control plane dies without a word.
    await first.kill("SIGKILL");
    expect(processesMentioning(rig.runners).length).toBeGreaterThan(0);

    const second = await rig.start();
    model.release();
    const done = await waitForSession(
      second.url,
      id,
      (s) => s.prompts[0]?.status !== "running" && s.prompts[0]?.status !== "queued",
    );
    expect(done.prompts[0].status).toBe("done");
    expect(done.session.status).toBe("idle");
    const branch = done.session.headBranch as string;
    expect(git(repo, "show", `${branch}:a.txt`)).toBe("a");
    // The runner was never given up for lost.
    const log = await sessionEvents(second.url, id);
    expect(log.filter((e) => e.type === "error")).toEqual([]);
    expect(log.some((e) => e.type === "git.push")).toBe(true);

    await post(second.url, `/api/sessions/${id}/prompts`, { text: "Add b" });
    const after = await waitForSession(second.url, id, (s) => s.prompts[1]?.status === "done");
    expect(after.session.headBranch).toBe(branch);
    expect(git(repo, "show", `${branch}:b.txt`)).toBe("b");
    expect(git(repo, "show", `${branch}:a.txt`)).toBe("a");

    await second.kill("SIGTERM");
    expect(await waitForNoProcesses(root, 10_000)).toEqual([]);
    expect(second.output()).not.toMatch(/unhandled|uncaught/i);
  });
});

describe("the control plane gone for longer than the heartbeat timeout", () => {
  let rig: Awaited<ReturnType<typeof crashRig>> | null = null;
  afterAll(async () => {
    await rig?.dispose();
  });

  it("the runner commits and pushes what the turn has done, then exits; the next control plane ends the session saying so", async () => {
    rig = await crashRig("gone", 5);
    const { model, repo, root, runners } = rig;
    // The turn writes a file, then the model hangs: the work so far is what must not be lost.
    model.reset([write("half.txt", "half\n"), hangStep()]);
    const first = await rig.start();
    const { id } = await post(first.url, "/api/sessions", { repo, prompt: "Write half" });
    await model.waitForStepRequests(2, 60_000);
    expect(processesMentioning(runners).length).toBeGreaterThan(0);
    await first.kill("SIGKILL");

    // No control plane for over 5 s: the runner gives up on its own, keeping the work.
    expect(await waitForNoProcesses(runners, 40_000)).toEqual([]);
    const branches = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/inspect/");
    expect(branches).not.toBe("");
    expect(git(repo, "show", `${branches.split("\n")[0]}:half.txt`)).toBe("half");

    const second = await rig.start();
    const after = await waitForSession(second.url, id, (s) => s.session.status === "failed", 30_000);
    expect(after.prompts[0]).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/while Inspect was not running/),
    });
    expect(after.session.statusReason).toMatch(/while Inspect was not running/);
    await second.kill("SIGTERM");
    model.release();
    expect(await waitForNoProcesses(root, 10_000)).toEqual([]);
  });
});

describe("the runner killed mid-turn", () => {
  let h: Harness;
  afterAll(async () => {
    await h?.close();
  });

  it("fails the prompt with a clear message, runs the queued follow-up on a fresh runner, and leaves nothing running", async () => {
    h = await startHarness({ idleTimeoutSeconds: 2 });
    const repo = bareRepo(h.root, "killed");
    h.model.reset([hangStep(write("lost.txt", "lost\n")), write("next.txt", "next\n"), textStep("wrote next")]);
    const { id } = await api(h, "POST", "/api/sessions", { repo, prompt: "Write lost" });
    await h.model.waitForStepRequests(1, 60_000);
    await api(h, "POST", `/api/sessions/${id}/prompts`, { text: "Write next" });
    const runner = processesMentioning(`INSPECT_SESSION_ID=${id}`).find((l) => l.includes("sandbox/main.ts"));
    expect(runner).toBeDefined();
    process.kill(-Number(runner!.split(" ")[0]), "SIGKILL");

    const after = await waitForSession(h.url, id, (s) => s.prompts[1]?.status === "done");
    expect(after.prompts[0]).toMatchObject({ status: "failed", error: expect.stringMatching(/killed by SIGKILL/) });
    const log = await sessionEvents(h.url, id);
    expect(log.some((e) => e.type === "error" && /killed by SIGKILL/.test(e.data.message))).toBe(true);
    expect(git(repo, "show", `${after.session.headBranch}:next.txt`)).toBe("next");
    h.model.release();
    await waitForSession(h.url, id, (s) => s.session.status === "completed", 30_000);
    expect(await waitForNoProcesses(h.root, 15_000)).toEqual([]);
  });
});

describe("a turn that runs past INSPECT_TURN_TIMEOUT", () => {
  let h: Harness;
  afterAll(async () => {
    await h?.close();
  });

  it("is ended with a message saying so; what it had done is committed and pushed", async () => {
    h = await startHarness({ idleTimeoutSeconds: 2, turnTimeoutMinutes: 0.05 });
    const repo = bareRepo(h.root, "slow");
    h.model.reset([write("early.txt", "early\n"), hangStep()]);
    const { id } = await api(h, "POST", "/api/sessions", { repo, prompt: "Take your time" });
    const after = await waitForSession(h.url, id, (s) => s.prompts[0]?.status === "failed", 60_000);
    expect(after.prompts[0].error).toMatch(/ran longer than 3 s \(INSPECT_TURN_TIMEOUT\)/);
    expect(git(repo, "show", `${after.session.headBranch}:early.txt`)).toBe("early");
    const log = await sessionEvents(h.url, id);
    expect(log.some((e) => e.type === "error" && e.data.code === "turn_timeout")).toBe(true);
    h.model.release();
  });
});

describe("PostgreSQL down for 5 s in the middle of a turn", () => {
  let h: Harness | null = null;
  let pg: Awaited<ReturnType<typeof startPostgres>> = null;
  afterAll(async () => {
    await h?.close();
    pg?.stop();
  });

  it("the turn finishes and is recorded whole once the database is back", async (ctx) => {
    pg = await startPostgres();
    if (!pg?.outage) return ctx.skip();
    const database = await openDatabase({ url: pg.url });
    h = await startHarness({ idleTimeoutSeconds: 2, database });
    const repo = bareRepo(h.root, "pgdown");
    h.model.reset([hangStep(write("pg.txt", "pg\n")), textStep("wrote pg")]);
    const { id } = await api(h, "POST", "/api/sessions", { repo, prompt: "Write pg" });
    await h.model.waitForStepRequests(1, 60_000);

    await pg.outage(5_000);
    h.model.release();
    const after = await waitForSession(h.url, id, (s) => s.prompts[0]?.status === "done");
    expect(git(repo, "show", `${after.session.headBranch}:pg.txt`)).toBe("pg");
    const log = await sessionEvents(h.url, id);
    for (const type of ["tool.call", "git.commit", "git.push", "prompt.finished"])
      expect(log.some((e) => e.type === type)).toBe(true);
    expect(log.filter((e) => e.type === "error")).toEqual([]);
    await waitForSession(h.url, id, (s) => s.session.status === "completed", 30_000);
    await h.close();
    h = null;
    await database.close();
  });
});
