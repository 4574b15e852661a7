/**
 * `npm run bench:pool` — what the warm pool saves a user: the real control plane (in-process,
 * local runner), the real sandbox and OpenCode, the scripted model, one generated repository
 * (bench/generated-repo.ts). In one run, on that repository:
 *
 *   cold    INSPECT_POOL_SIZE=0: every session dispatches a runner (the first clones, the
 *           rest restore the snapshot the previous one handed back)
 *   pooled  INSPECT_POOL_SIZE=1: every session takes the sandbox the pool prepared before it
 *
 * For each session: POST /api/sessions → the model's first request (what a user waits for;
 * a webhook lands in the same session service ~50 ms earlier), and the claim (cold) or the
 * assignment's hand-over (pooled) → the model's first request. Also each ready pooled sandbox's
 * memory: the resident set of every process of its runner (runtime, OpenCode, jail).
 *
 * `--actions`: the same comparison in `actions` mode, webhook → first model request, each job the
 * bundled action against a fake GitHub Enterprise host (bench/pool-actions.ts).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { loadConfig } from "../app/config.js";
import { openDatabase, type Database } from "../app/db/client.js";
import { poolSlots, runs } from "../app/db/schema.js";
import { createInspect, type Inspect } from "../app/server.js";
import { startModelServer, textStep, type ModelServer } from "../test/support/model-server.js";
import { generateRepo } from "./generated-repo.js";
import { actionsBench } from "./pool-actions.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

interface Sample {
  toModel: number;
  claimToModel: number;
}

async function withInspect<T>(
  root: string,
  database: Database,
  model: ModelServer,
  env: Record<string, string>,
  fn: (inspect: Inspect, url: string) => Promise<T>,
): Promise<T> {
  const config = loadConfig({
    INSPECT_RUNNER: "local",
    INSPECT_DATA_DIR: path.join(root, "data"),
    INSPECT_SECRET: "b".repeat(40),
    INSPECT_MODEL: "scripted/scripted-model",
    INSPECT_OPENCODE_CONFIG: JSON.stringify({ provider: model.opencodeProvider() }),
    INSPECT_IDLE_TIMEOUT: "1",
    INSPECT_HEARTBEAT_TIMEOUT: "30",
    INSPECT_PARTY_URL: "http://127.0.0.1:9",
    LOG_LEVEL: "fatal",
    ...env,
  });
  const inspect = await createInspect(config, { database, logLevel: "fatal" });
  const { url } = await inspect.listen(0, "127.0.0.1");
  try {
    return await fn(inspect, url);
  } finally {
    await inspect.close();
  }
}

async function session(inspect: Inspect, url: string, model: ModelServer, repo: string): Promise<Sample> {
  model.reset([textStep("ok")]);
  const t0 = Date.now();
  const res = await fetch(`${url}/api/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ repo, prompt: "Say ok" }),
  });
  if (!res.ok) throw new Error(`POST /api/sessions → ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const [first] = await model.waitForStepRequests(1, 120_000);
  const db = inspect.database.db;
  const [run] = await db.select().from(runs).where(eq(runs.sessionId, id));
  // The runner exits (idle) and hands its checkout back before the next session.
  await until(async () => {
    const s = await inspect.sessions.get(id);
    return s && ["completed", "failed", "stopped"].includes(s.status);
  });
  return { toModel: first!.at - t0, claimToModel: first!.at - run!.claimedAt!.getTime() };
}

async function until(check: () => Promise<unknown>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident memory (MiB) of every process whose command line or environment names `needle`. */
function rssMiB(needle: string): number {
  let kib = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, "utf8");
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!env.includes(needle) && !cmd.includes(needle)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) kib += Number(m[1]);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return Math.round(kib / 1024);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};
const row = (name: string, xs: number[], unit = "ms") => {
  const { min, median, max } = stats(xs);
  return `| ${name} | ${min} ${unit} | **${median} ${unit}** | ${max} ${unit} |`;
};

async function main() {
  const root = mkdtempSync(path.join(os.tmpdir(), "inspect-bench-pool-"));
  const model = await startModelServer();
  const database = await openDatabase({ dataDir: "memory://" });
  try {
    if (process.argv.includes("--actions")) {
      const { cold, pooled } = await actionsBench(database, model, RUNS);
      const ratio = stats(cold.map((c) => c.toModel)).median / stats(pooled.map((p) => p.toModel)).median;
      console.log(
        `\nWarm pool, actions mode — ${os.cpus().length} cores, ${RUNS} sessions each, cold first then pooled\n`,
      );
      console.log("| what | min | median | max |");
      console.log("|---|---:|---:|---:|");
      const lines: [string, number[]][] = [
        ["cold job: webhook → first model request", cold.map((c) => c.toModel)],
        ["pooled job: webhook → first model request", pooled.map((p) => p.toModel)],
        ["cold job: OIDC claim → first model request", cold.map((c) => c.claimToModel)],
        ["pooled job: assignment → first model request", pooled.map((p) => p.claimToModel)],
      ];
      for (const [name, xs] of lines) console.log(row(name, xs));
      console.log(`\npooled is ${ratio.toFixed(1)}× faster than cold (medians), before GitHub's queue and job start`);
      return;
    }
    const { remote } = generateRepo(root);
    // Local-mode commits are the developer's own: the repository names one.
    execFileSync("git", ["-C", remote, "config", "user.name", "Bench Mark"]);
    execFileSync("git", ["-C", remote, "config", "user.email", "bench@example.com"]);
    const cold: Sample[] = [];
    const pooled: Sample[] = [];
    const memory: number[] = [];
    await withInspect(root, database, model, { INSPECT_POOL_SIZE: "0" }, async (inspect, url) => {
      for (let i = 0; i < RUNS; i++) {
        cold.push(await session(inspect, url, model, remote));
        process.stderr.write(`cold ${i + 1}: ${JSON.stringify(cold.at(-1))}\n`);
      }
    });
    await withInspect(
      root,
      database,
      model,
      { INSPECT_POOL_SIZE: "1", INSPECT_POOL_REPOS: remote },
      async (inspect, url) => {
        for (let i = 0; i < RUNS; i++) {
          const ready = await waitForReadySlot(inspect);
          // Let it settle: the warm-up turn has ended and OpenCode sits idle, as it would.
          await new Promise((r) => setTimeout(r, 1_000));
          memory.push(rssMiB(`pool-${ready}`));
          pooled.push(await session(inspect, url, model, remote));
          process.stderr.write(`pooled ${i + 1}: ${JSON.stringify(pooled.at(-1))} ${memory.at(-1)} MiB\n`);
        }
      },
    );
    const ratio = stats(cold.map((c) => c.toModel)).median / stats(pooled.map((p) => p.toModel)).median;
    console.log(`\nWarm pool — ${os.cpus().length} cores, ${RUNS} sessions each, cold first then pooled\n`);
    console.log("| what | min | median | max |");
    console.log("|---|---:|---:|---:|");
    console.log(
      row(
        "cold: POST /api/sessions → first model request",
        cold.map((c) => c.toModel),
      ),
    );
    console.log(
      row(
        "pooled: POST /api/sessions → first model request",
        pooled.map((p) => p.toModel),
      ),
    );
    console.log(
      row(
        "cold: claim → first model request",
        cold.map((c) => c.claimToModel),
      ),
    );
    console.log(
      row(
        "pooled: assignment → first model request",
        pooled.map((p) => p.claimToModel),
      ),
    );
    console.log(row("memory per ready pooled sandbox", memory, "MiB"));
    console.log(`\npooled is ${ratio.toFixed(1)}× faster than cold (medians)`);
  } finally {
    await model.close();
    await database.close();
    rmSync(root, { recursive: true, force: true });
  }
}

async function waitForReadySlot(inspect: Inspect): Promise<string> {
  let id = "";
  await until(async () => {
    const [slot] = await inspect.database.db.select().from(poolSlots).where(eq(poolSlots.state, "ready"));
    id = slot?.id ?? "";
    return slot;
  }, 180_000);
  return id;
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
