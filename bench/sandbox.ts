/**
 * `npm run bench:sandbox` — how fast a sandbox gets ready and how fast a prompt reaches the model.
 *
 * A generated repository (a few thousand files, a setup script that "installs" a few thousand
 * dependency files) in a bare remote; OpenCode is the real one, the model is the scripted
 * server. Each scenario runs the runtime's own preparation (sandbox/prepare.ts: OpenCode boots
 * while the checkout is made, then setup) and its own turn code (sandbox/opencode/turn.ts).
 * The runner API round trips are left out: on loopback they cost a few milliseconds.
 *
 *   ready       = start of preparation → ready for the first prompt (what follows the claim)
 *   to model    = prompt handed to OpenCode → the model server receives the request
 *   claim → first model request = ready + first prompt → model: what a user waits for, since the
 *                 prompt that started the session is already queued when the runner claims it
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SessionSpec } from "../protocol/runner-api.js";
import { discardChanges } from "../sandbox/git/commit.js";
import { returnSnapshot, snapshotPath } from "../sandbox/git/snapshot.js";
import { runTurn } from "../sandbox/opencode/turn.js";
import { prepareSandbox, type Prepared } from "../sandbox/prepare.js";
import { noJail } from "../sandbox/jail/jail.js";
import { killAllGroups } from "../sandbox/proc/group.js";
import { startModelServer, textStep, type ModelServer } from "../test/support/model-server.js";
import { DEP_FILES, generateRepo, SOURCE_FILES } from "./generated-repo.js";
import { sessionSpec } from "../test/support/session-spec.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function spec(remote: string, model: ModelServer, id: string): SessionSpec {
  return sessionSpec(remote, {
    id,
    repo: { owner: "bench", name: "repo", fullName: "bench/repo" },
    headBranch: `inspect/${id}-bench`,
    model: "scripted/scripted-model",
    opencodeConfig: { provider: model.opencodeProvider() },
    idleTimeoutMs: 60_000,
    heartbeatIntervalMs: 30_000,
    setupTimeoutMs: 120_000,
    sessionUrl: `http://localhost/sessions/${id}`,
  });
}

interface Sample {
  ready: number;
  marks: Record<string, number>;
  source: string;
  coldToModel: number;
  warmToModel: number;
}

async function timeToModel(p: Prepared, model: ModelServer, text: string): Promise<number> {
  model.reset([textStep("ok")]);
  const started = Date.now();
  const turn = runTurn({
    client: p.workspace.client,
    hub: p.workspace.hub,
    sessionID: p.workspace.sessionID,
    directory: p.checkout.dir,
    text,
    model: "scripted/scripted-model",
    emit: () => undefined,
    stop: new AbortController().signal,
    crashed: p.server.exited,
  });
  const [first] = await model.waitForStepRequests(1);
  const result = await turn;
  if (result.status !== "done") throw new Error(`turn ${result.status}: ${result.error}`);
  return first.at - started;
}

async function scenario(
  root: string,
  remote: string,
  model: ModelServer,
  n: number,
  opts: { snapshotRoot: string | null; warm: boolean },
): Promise<Sample> {
  const id = `b${n}${Math.random().toString(36).slice(2, 8)}`;
  const sessionDir = path.join(root, "sessions", id);
  mkdirSync(sessionDir, { recursive: true });
  const marks: Record<string, number> = {};
  const t0 = Date.now();
  const p = await prepareSandbox({
    spec: spec(remote, model, id),
    jail: noJail(sessionDir),
    snapshotRoot: opts.snapshotRoot,
    redact: (s) => s,
    emit: () => undefined,
    signal: new AbortController().signal,
    log: () => undefined,
    mark: (name) => (marks[name] = Date.now() - t0),
    warm: opts.warm,
  });
  const ready = Date.now() - t0;
  try {
    const coldToModel = await timeToModel(p, model, "First prompt: say ok");
    const warmToModel = await timeToModel(p, model, "Second prompt: say ok again");
    return { ready, marks, source: p.checkout.source, coldToModel, warmToModel };
  } finally {
    p.workspace.hub.close();
    await p.server.stop();
    await killAllGroups();
    // As the runtime does at exit: hand the checkout back as the runner's snapshot.
    if (opts.snapshotRoot) {
      await discardChanges(p.checkout.dir);
      await returnSnapshot(p.checkout.dir, snapshotPath(opts.snapshotRoot, "bench", "repo"));
    }
    rmSync(sessionDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const root = mkdtempSync(path.join(os.tmpdir(), "inspect-bench-"));
  const { remote, depsTar } = generateRepo(root);
  process.env.BENCH_DEPS_TAR = depsTar;
  const model = await startModelServer();
  const snapshots = path.join(root, "snapshots");
  const results: Record<string, Sample[]> = {
    "no snapshot (clone + setup installs)": [],
    "snapshot (warm runner)": [],
    "snapshot, no warm-up turn": [],
  };
  try {
    // One throwaway run so the OS has the OpenCode binary in its page cache for every scenario.
    await scenario(root, remote, model, 0, { snapshotRoot: null, warm: true });
    for (let i = 1; i <= RUNS; i++) {
      results["no snapshot (clone + setup installs)"].push(
        await scenario(root, remote, model, i, { snapshotRoot: null, warm: true }),
      );
      // The first snapshot run clones and installs, then leaves the snapshot for the next ones.
      if (i === 1) await scenario(root, remote, model, 99, { snapshotRoot: snapshots, warm: true });
      results["snapshot (warm runner)"].push(
        await scenario(root, remote, model, i, { snapshotRoot: snapshots, warm: true }),
      );
      results["snapshot, no warm-up turn"].push(
        await scenario(root, remote, model, i, { snapshotRoot: snapshots, warm: false }),
      );
    }
  } finally {
    await model.close();
    rmSync(root, { recursive: true, force: true });
  }

  console.log(
    `\nSandbox benchmark — ${SOURCE_FILES} source files, ${DEP_FILES} dependency files, ${os.cpus().length} cores, median of ${RUNS}\n`,
  );
  console.log(
    "| scenario | checkout | OpenCode up | workspace open | setup done | ready | first prompt → model | next prompt → model | claim → first model request |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const [name, samples] of Object.entries(results)) {
    const m = (f: (s: Sample) => number) => `${median(samples.map(f))} ms`;
    console.log(
      `| ${name} (${samples[0].source}) | ${m((s) => s.marks.checkout)} | ${m((s) => s.marks.opencode)} | ${m((s) => s.marks.workspace)} | ${m((s) => s.marks.setup)} | **${m((s) => s.ready)}** | ${m((s) => s.coldToModel)} | ${m((s) => s.warmToModel)} | ${m((s) => s.ready + s.coldToModel)} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
