/**
 * `npm run bench:browser` — what the agent's browser (`@playwright/mcp`, sandbox/mcp/browser.ts)
 * costs a sandbox that never opens a page: OpenCode's boot to ready, the memory of the sandbox's
 * processes once ready, and each turn (prompt → model, and the size of the model request, which
 * carries the browser's tool definitions every time).
 *
 * Runs alternate without and with the browser (A B A B …) on a small repository, the real
 * OpenCode, the scripted model server and the runtime's own preparation (sandbox/prepare.ts), no
 * jail. Prints min / median / max of each figure for both, and the difference of the medians.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { agentOpencodeConfig } from "../sandbox/mcp/agent-config.js";
import { noJail } from "../sandbox/jail/jail.js";
import { runTurn } from "../sandbox/opencode/turn.js";
import { prepareSandbox, type Prepared } from "../sandbox/prepare.js";
import { killAllGroups } from "../sandbox/proc/group.js";
import { startModelServer, textStep, type ModelServer } from "../test/support/model-server.js";
import { sessionSpec } from "../test/support/session-spec.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

interface Sample {
  ready: number;
  /** Resident memory of every process below this one, once ready (MiB). */
  rssMiB: number;
  /** The browser's MCP server was running once ready (OpenCode starts local MCP servers at boot). */
  mcpAtBoot: boolean;
  firstToModel: number;
  nextToModel: number;
  requestKiB: number;
  tools: number;
}

/** Every process whose parent chain reaches `root`, with its resident set in KiB. */
function descendants(root: number): Array<{ pid: number; rssKiB: number; cmd: string }> {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const out: Array<{ pid: number; rssKiB: number; cmd: string }> = [];
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    while (p && p !== root && p !== 1) p = parent.get(p);
    if (p !== root) continue;
    try {
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      out.push({ pid, rssKiB: Number(rss ?? 0), cmd });
    } catch {
      // gone
    }
  }
  return out;
}

async function toModel(p: Prepared, model: ModelServer, text: string) {
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
  return { ms: first!.at - started, body: first!.body as { tools?: unknown[] } };
}

async function run(root: string, remote: string, model: ModelServer, n: number, browser: boolean): Promise<Sample> {
  const id = `b${n}${browser ? "on" : "off"}`;
  const sessionDir = path.join(root, "sessions", id);
  mkdirSync(sessionDir, { recursive: true });
  const jail = noJail(sessionDir);
  const config = agentOpencodeConfig(
    { provider: model.opencodeProvider() },
    null,
    browser ? { allowHosts: [] } : undefined,
    jail.box,
  );
  const t0 = Date.now();
  const p = await prepareSandbox({
    spec: sessionSpec(remote, { id, model: "scripted/scripted-model", opencodeConfig: config, setupTimeoutMs: 60_000 }),
    jail,
    snapshotRoot: null,
    redact: (s) => s,
    emit: () => undefined,
    signal: new AbortController().signal,
    log: process.env.BENCH_LOG ? (l) => console.error(l) : () => undefined,
    mark: () => undefined,
  });
  const ready = Date.now() - t0;
  try {
    const procs = descendants(process.pid);
    const first = await toModel(p, model, "First prompt: say ok");
    const next = await toModel(p, model, "Second prompt: say ok again");
    return {
      ready,
      rssMiB: procs.reduce((s, x) => s + x.rssKiB, 0) / 1024,
      mcpAtBoot: procs.some((x) => x.cmd.includes("@playwright/mcp")),
      firstToModel: first.ms,
      nextToModel: next.ms,
      requestKiB: JSON.stringify(next.body).length / 1024,
      tools: next.body.tools?.length ?? 0,
    };
  } finally {
    p.workspace.hub.close();
    await p.server.stop();
    await killAllGroups();
    rmSync(sessionDir, { recursive: true, force: true });
  }
}

function repo(root: string): string {
  const seed = path.join(root, "seed");
  mkdirSync(seed, { recursive: true });
  writeFileSync(path.join(seed, "README.md"), "# bench\n");
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "B",
    GIT_AUTHOR_EMAIL: "b@x",
    GIT_COMMITTER_NAME: "B",
    GIT_COMMITTER_EMAIL: "b@x",
  };
  const g = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, env, stdio: "ignore" });
  g(seed, "init", "-q", "-b", "main");
  g(seed, "add", "-A");
  g(seed, "commit", "-q", "-m", "seed");
  const remote = path.join(root, "remote.git");
  g(root, "clone", "-q", "--bare", seed, remote);
  return remote;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
};

async function main() {
  const root = mkdtempSync(path.join(os.tmpdir(), "inspect-bench-browser-"));
  const remote = repo(root);
  const model = await startModelServer();
  const samples: Record<"off" | "on", Sample[]> = { off: [], on: [] };
  try {
    // One throwaway pair: the OpenCode binary and the package in the page cache for both.
    await run(root, remote, model, 0, false);
    await run(root, remote, model, 0, true);
    for (let i = 1; i <= RUNS; i++) {
      samples.off.push(await run(root, remote, model, i, false));
      samples.on.push(await run(root, remote, model, i, true));
    }
  } finally {
    await model.close();
    rmSync(root, { recursive: true, force: true });
  }
  const figures: Array<[string, (s: Sample) => number, string]> = [
    ["ready (boot → first prompt possible)", (s) => s.ready, "ms"],
    ["memory of the sandbox's processes, ready", (s) => s.rssMiB, "MiB"],
    ["first prompt → model", (s) => s.firstToModel, "ms"],
    ["next prompt → model", (s) => s.nextToModel, "ms"],
    ["model request size", (s) => s.requestKiB, "KiB"],
    ["tools offered", (s) => s.tools, ""],
  ];
  console.log(`\nBrowser cost — ${os.cpus().length} cores, ${RUNS} runs each, alternating; min / median / max\n`);
  console.log("| figure | browser off | browser on | on − off, pair by pair |");
  console.log("|---|---|---|---|");
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  for (const [name, pick, unit] of figures) {
    const off = samples.off.map(pick);
    const on = samples.on.map(pick);
    const cell = (xs: number[]) => {
      const s = stats(xs);
      return `${f(s.min)} / **${f(s.median)}** / ${f(s.max)} ${unit}`;
    };
    console.log(`| ${name} | ${cell(off)} | ${cell(on)} | ${cell(on.map((x, i) => x - off[i]!))} |`);
  }
  const atBoot = samples.on.filter((s) => s.mcpAtBoot).length;
  console.log(`\nThe browser's MCP server was running once ready in ${atBoot} of ${samples.on.length} runs.`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
