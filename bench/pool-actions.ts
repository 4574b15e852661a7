/**
 * `npm run bench:pool -- --actions` — what the warm pool saves an Actions user: the real control
 * plane in `actions` mode (in-process), GitHub faked at HTTP by the fake GitHub Enterprise host
 * (REST + git over HTTP, test/support/fake-ghe.ts), the bundled action (action/dist) run as a
 * runner runs it for every dispatch, its OIDC token from a stand-in of the Actions token service,
 * the real sandbox (bubblewrap jail, when the machine has one) and OpenCode, the scripted model, one
 * generated repository (bench/generated-repo.ts). In one run, on that repository:
 *
 *   cold    INSPECT_POOL_SIZE=0: each comment's session dispatches a job; the action boots,
 *           claims with OIDC, restores the snapshot (the first clones), runs the setup script and
 *           boots OpenCode
 *   pooled  INSPECT_POOL_SIZE=1: each comment's session takes the job the pool dispatched before it
 *
 * For each session: the webhook → the model's first request. The "runner" here starts the job the
 * moment the dispatch lands: GitHub's own queue and job start (runner pickup, `actions/checkout`,
 * `npm ci --prefix action`), which this machine cannot measure, come on top of every cold figure
 * and are out of the pooled one's path.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import type { Database } from "../app/db/client.js";
import { listSessions } from "../app/db/sessions.js";
import { poolSlots, runs } from "../app/db/schema.js";
import type { Inspect } from "../app/server.js";
import { fakeGheEnv, startFakeGhe, type FakeGhe } from "../test/support/fake-ghe.js";
import { deliver, testInspect } from "../test/support/inspect.js";
import { textStep, type ModelServer } from "../test/support/model-server.js";
import { startIssuer, startTokenService, type TestIssuer, type TokenService } from "../test/support/oidc-issuer.js";
import { issueComment } from "../test/support/payloads.js";
import { jobClaims } from "../test/support/runner-client.js";
import { generateRepo } from "./generated-repo.js";

const ACTION = path.resolve(import.meta.dirname, "..", "action", "dist", "index.js");

export interface ActionsSample {
  /** Webhook delivered → the model's first request. */
  toModel: number;
  /** The job's claim (cold) or the assignment's hand-over (pooled) → the model's first request. */
  claimToModel: number;
}

/** Every dispatch of the runner workflow becomes a job at once: the bundled action, as a runner runs it. */
class Runner {
  private seen = 0;
  private readonly jobs = new Set<Promise<void>>();
  private readonly children = new Set<ChildProcess>();
  private readonly services: TokenService[] = [];
  private timer: NodeJS.Timeout;
  private n = 0;
  /** Where each job's checkout came from (snapshot, cache, clone), in order. */
  readonly sources: string[] = [];

  /** Jobs still running. */
  get running(): number {
    return this.jobs.size;
  }

  constructor(
    private readonly fake: FakeGhe,
    private readonly issuer: TestIssuer,
    private readonly root: string,
    private readonly controlPlane: () => string,
  ) {
    this.timer = setInterval(() => this.poll(), 20);
  }

  private poll(): void {
    while (this.seen < this.fake.dispatches.length) {
      const dispatch = this.fake.dispatches[this.seen++]!;
      const job = this.start(dispatch.runId, dispatch.inputs as Record<string, string>);
      this.jobs.add(job);
      void job.finally(() => this.jobs.delete(job));
    }
  }

  private async start(runId: number, inputs: Record<string, string>): Promise<void> {
    const tokens = await startTokenService(this.issuer, "request-token", (aud) => jobClaims(runId, { aud }));
    this.services.push(tokens);
    // A runner's temp folder (the jail hides it and its parent) and the machine's persistent snapshot folder.
    const temp = path.join(this.root, "runner", `job${++this.n}`, "temp");
    mkdirSync(temp, { recursive: true });
    const child = spawn(process.execPath, [ACTION], {
      env: {
        PATH: process.env.PATH!,
        HOME: os.homedir(),
        "INPUT_SESSION-ID": inputs.session_id ?? "",
        "INPUT_SLOT-ID": inputs.slot_id ?? "",
        "INPUT_CONTROL-PLANE-URL": this.controlPlane(),
        INPUT_AUDIENCE: inputs.control_plane_url ?? "",
        "INPUT_SNAPSHOT-DIR": path.join(this.root, "snapshots"),
        ACTIONS_ID_TOKEN_REQUEST_URL: tokens.url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
        RUNNER_TEMP: temp,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.add(child);
    let tail = "";
    const keep = (c: Buffer) => {
      tail = (tail + c.toString()).slice(-3_000);
      const source = /checkout ready from (\w+)/.exec(c.toString())?.[1];
      if (source) this.sources.push(source);
      // BENCH_LOG=1: each job's milestones (claims, checkouts, snapshots, exits) as they happen.
      if (process.env.BENCH_LOG)
        for (const line of c.toString().split("\n"))
          if (/claimed|checkout|snapshot|cached|exited|leaving/.test(line))
            process.stderr.write(`  [run ${runId}] ${line}\n`);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const code = await new Promise<number | null>((r) => child.on("close", r));
    this.children.delete(child);
    if (code !== 0) process.stderr.write(`job for run ${runId} exited ${code}:\n${tail}\n`);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const child of this.children) child.kill("SIGTERM");
    await Promise.all(this.jobs);
    for (const s of this.services) await s.close();
  }
}

async function until<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Cold then pooled, `runs` sessions each, on one generated repository behind the fake host. */
export async function actionsBench(
  database: Database,
  model: ModelServer,
  runs_: number,
): Promise<{ cold: ActionsSample[]; pooled: ActionsSample[] }> {
  // The setup script runs as the sandbox user in the jail, whose /tmp is its own: the dependency
  // tarball it unpacks lives outside /tmp, readable by that user.
  const root = mkdtempSync("/var/tmp/inspect-bench-pool-actions-");
  chmodSync(root, 0o755);
  const { remote } = generateRepo(root);
  const gitRoot = path.join(root, "git");
  mkdirSync(path.join(gitRoot, "acme"), { recursive: true });
  const bare = path.join(gitRoot, "acme", "widgets.git");
  renameSync(remote, bare);
  mkdirSync(path.join(root, "snapshots"));
  const fake = await startFakeGhe(gitRoot, bare, { owner: "acme", repo: "widgets", runnerRepo: "inspect-runner" });
  fake.permissions.set("alice", "write");
  const issuer = await startIssuer();
  let url = "";
  const runner = new Runner(fake, issuer, root, () => url);
  let issue = 0;

  const phase = async (poolSize: string, pooled: boolean) => {
    const env = fakeGheEnv(fake, model, path.join(root, `data-${poolSize}`), {
      INSPECT_RUNNER: "actions",
      INSPECT_RUNNER_REPO: "acme/inspect-runner",
      INSPECT_OIDC_ISSUER: issuer.url,
      INSPECT_POOL_SIZE: poolSize,
      INSPECT_POOL_REPOS: "acme/widgets",
      INSPECT_IDLE_TIMEOUT: "1",
      LOG_LEVEL: "fatal",
    });
    const inspect = await testInspect(env, database);
    url = (await inspect.listen(0, "127.0.0.1")).url;
    const samples: ActionsSample[] = [];
    try {
      for (let i = 0; i < runs_; i++) {
        // The previous session's job has left (handing its checkout back as the snapshot); a pooled
        // sandbox waits for the next.
        await until(async () => runner.running === (pooled ? 1 : 0));
        if (pooled) await readySlot(inspect);
        if (pooled) await new Promise((r) => setTimeout(r, 1_000)); // the warm-up over, OpenCode idle
        samples.push(await comment(inspect, ++issue));
        process.stderr.write(`${pooled ? "pooled" : "cold"} ${i + 1}: ${JSON.stringify(samples.at(-1))}\n`);
      }
      // The last session's job leaves before the control plane does (a ready pooled one is told to, at its next poll).
      await until(async () => runner.running === (pooled ? 1 : 0));
    } finally {
      await inspect.close();
    }
    return samples;
  };

  const comment = async (inspect: Inspect, n: number): Promise<ActionsSample> => {
    model.reset([textStep("ok")]);
    const t0 = Date.now();
    const res = await deliver(inspect, "issue_comment", issueComment("@inspect say ok", { issue: n, login: "alice" }));
    if (res.status !== 200) throw new Error(`webhook → ${res.status}: ${await res.text()}`);
    const [first] = await model.waitForStepRequests(1, 180_000);
    const session = await until(async () => (await listSessions(database.db)).find((s) => s.threadNumber === n));
    const [run] = await inspect.database.db.select().from(runs).where(eq(runs.sessionId, session.id));
    // The job exits (idle) and hands its checkout back before the next session.
    await until(async () => {
      const s = await inspect.sessions.get(session.id);
      return s && ["completed", "failed", "stopped"].includes(s.status);
    });
    return { toModel: first!.at - t0, claimToModel: first!.at - run!.claimedAt!.getTime() };
  };

  const readySlot = (inspect: Inspect) =>
    until(async () => {
      const [slot] = await inspect.database.db.select().from(poolSlots).where(eq(poolSlots.state, "ready"));
      return slot;
    });

  try {
    // The repository becomes known (and active) with its first session: the cold phase makes it so.
    const cold = await phase("0", false);
    const pooled = await phase("1", true);
    process.stderr.write(`checkouts: ${runner.sources.join(", ")}\n`);
    return { cold, pooled };
  } finally {
    await runner.close();
    await issuer.close();
    await fake.close();
    rmSync(root, { recursive: true, force: true });
  }
}
