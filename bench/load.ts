/**
 * npm run bench:load — a burst of webhooks against the real control plane over HTTP:
 * 200 signed `issue_comment` deliveries mentioning the bot, sent in 10 s (one every 50 ms, not
 * waiting for answers) over 20 threads, on PGlite (a data folder on disk) and on a real
 * PostgreSQL server. GitHub is a local fake on loopback (reached through GHE_HOST, production
 * Octokit with its retry and throttling). Checked: every delivery acknowledged (2xx), every one
 * handled (done in the inbox), each thread's prompts stored in the order sent, none lost.
 * Measured: the acknowledgement time (POST → response; the delivery is stored by then) and the
 * time to the 👀 at GitHub. The requests go out from a worker thread, on their own schedule. BENCH_ROUNDS (default 3) rounds per database, for the spread.
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { loadConfig } from "../app/config.js";
import { openDatabase, type Database } from "../app/db/client.js";
import { createInspect } from "../app/server.js";
import { startPostgres } from "../test/support/postgres.js";

const THREADS = 20;
const PER_THREAD = 10;
const SPACING_MS = 50; // 200 × 50 ms = 10 s
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECRET = "bench-secret";
const KEY = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GitHub on loopback: answers what a session's intake and reporters call; notes each 👀. */
async function fakeGitHub() {
  const reactions = new Map<number, number>();
  let nextId = 1_000_000;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = (req.url ?? "").replace(/^\/api\/v3/, "").split("?")[0]!;
      const reply = (status: number, data: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(data));
      };
      if (req.method === "POST" && /\/access_tokens$/.test(url))
        return reply(201, { token: "ghs_bench", expires_at: new Date(Date.now() + 3.6e6).toISOString() });
      if (req.method === "GET" && url === "/app") return reply(200, { slug: "inspect" });
      if (/\/permission$/.test(url)) return reply(200, { permission: "write", role_name: "write" });
      // The runner repository, where sessions are dispatched as workflow runs.
      if (req.method === "GET" && url === "/repos/acme/runner/installation") return reply(200, { id: 1 });
      if (req.method === "GET" && url === "/repos/acme/runner")
        return reply(200, { id: 99, name: "runner", full_name: "acme/runner", default_branch: "main", private: true });
      const reaction = url.match(/\/issues\/comments\/(\d+)\/reactions$/);
      if (reaction) {
        reactions.set(Number(reaction[1]), now());
        return reply(201, { id: nextId++ });
      }
      if (req.method === "POST" && /\/comments$/.test(url)) return reply(201, { id: nextId++ });
      if (/dispatches$/.test(url)) return reply(204, null);
      if (req.method === "POST" && /check-runs$/.test(url)) return reply(201, { id: nextId++ });
      return reply(200, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, reactions, close: () => server.close() };
}

interface Round {
  acked: number;
  failed: number;
  ack: number[];
  eyes: number[];
  handledMs: number;
  lost: number;
  outOfOrder: number;
}

/**
 * GitHub's side, in a worker thread with an event loop of its own: the server's loop (busy with
 * the work, PGlite included) must not decide when a request goes out, or in which order.
 */
const SENDER = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const now = () => Number(process.hrtime.bigint()) / 1e6;
(async () => {
  const { url, requests, spacingMs } = workerData;
  const ack = [], sentAt = [];
  let failed = 0;
  const start = now();
  const posts = requests.map(async (r, i) => {
    const wait = start + i * spacingMs - now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    const t0 = now();
    sentAt[i] = t0;
    // A connection of its own, as each of GitHub's deliveries comes.
    const status = await new Promise((resolve) => {
      const req = http.request(url, {
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(r.body),
          "x-github-event": "issue_comment",
          "x-github-delivery": r.id,
          "x-hub-signature-256": r.signature,
        },
      }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", () => resolve(0));
      req.end(r.body);
    });
    if (status >= 200 && status < 300) ack.push(now() - t0);
    else failed++;
  });
  await Promise.all(posts);
  parentPort.postMessage({ ack, failed, sentAt });
})();
`;

function sendFromWorker(
  url: string,
  requests: { id: string; body: string; signature: string }[],
): Promise<{ ack: number[]; failed: number; sentAt: number[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SENDER, { eval: true, workerData: { url, requests, spacingMs: SPACING_MS } });
    worker.once("message", (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

async function round(database: Database, label: string, r: number): Promise<Round> {
  const gh = await fakeGitHub();
  const config = loadConfig({
    APP_ID: "1",
    PRIVATE_KEY: KEY,
    WEBHOOK_SECRET: SECRET,
    GHE_HOST: `127.0.0.1:${gh.port}`,
    GHE_PROTOCOL: "http",
    INSPECT_RUNNER: "actions",
    INSPECT_RUNNER_REPO: "acme/runner",
    INSPECT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "bench-load-")),
    INSPECT_SECRET: "b".repeat(40),
    INSPECT_PARTY_URL: "http://127.0.0.1:9", // no room server: forwarding fails fast
    LOG_LEVEL: "silent",
  });
  const inspect = await createInspect(config, { database, logLevel: "fatal" });
  const { url } = await inspect.listen(0, "127.0.0.1");

  const tag = `${label}${r}`;
  // Each round its own repositories (20 threads on 20 installations, as 20 teams would be).
  const repoBase = (label === "pg" ? 20_000 : 10_000) + r * 100;
  const sent: { thread: number; k: number; commentId: number }[] = [];
  const requests: { id: string; body: string; signature: string }[] = [];
  for (let i = 0; i < THREADS * PER_THREAD; i++) {
    const thread = i % THREADS;
    const k = Math.floor(i / THREADS);
    const commentId = repoBase * 1_000 + i;
    const payload = {
      action: "created",
      installation: { id: repoBase + thread },
      repository: {
        id: repoBase + thread,
        name: `widgets-${tag}-${thread}`,
        full_name: `acme/widgets-${tag}-${thread}`,
        owner: { login: "acme" },
        default_branch: "main",
        private: true,
      },
      sender: { login: `dev${k % 3}`, id: 7 + (k % 3), type: "User" },
      issue: { number: 1, title: `Bench thread ${thread}`, body: "body", html_url: "http://x/1" },
      comment: { id: commentId, body: `@inspect step ${k}`, user: { login: `dev${k % 3}`, id: 7, type: "User" } },
    };
    const body = JSON.stringify(payload);
    sent.push({ thread, k, commentId });
    requests.push({
      id: `load-${tag}-${i}`,
      body,
      signature: `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
    });
  }
  const start = now();
  const { ack, failed, sentAt } = await sendFromWorker(`${url}/api/github/webhooks`, requests);

  // Handled: every delivery done in the inbox (or given up, which counts as lost below).
  const ids = sent.map((_, i) => `'load-${tag}-${i}'`).join(",");
  const deadline = now() + 180_000;
  for (;;) {
    const { rows } = (await database.db.execute(
      `SELECT count(*)::int AS c FROM webhook_deliveries WHERE id IN (${ids}) AND (done_at IS NOT NULL OR failed_at IS NOT NULL)`,
    )) as unknown as { rows: { c: number }[] };
    if (rows[0]!.c === sent.length || now() > deadline) break;
    await sleep(100);
  }
  const handledMs = now() - start;
  await inspect.tasks.drain();

  // The prompts these comments became, in the order they were stored (id), per thread.
  const byComment = new Map(sent.map((x) => [x.commentId, x]));
  const { rows } = (await database.db.execute(
    `SELECT comment_id::bigint AS c FROM prompts WHERE comment_id IN (${[...byComment.keys()].join(",")}) ORDER BY id`,
  )) as unknown as { rows: { c: string | number }[] };
  const perThread = new Map<number, number[]>();
  for (const row of rows) {
    const x = byComment.get(Number(row.c))!;
    perThread.set(x.thread, [...(perThread.get(x.thread) ?? []), x.k]);
  }
  const want = [...Array(PER_THREAD).keys()].join();
  const outOfOrder = [...Array(THREADS).keys()].filter((t) => (perThread.get(t) ?? []).join() !== want).length;
  const stored = new Set(rows.map((row) => Number(row.c))).size;
  // The worker's clock is this process's (performance.timeOrigin differs; hrtime does not).
  const eyes = sent.flatMap((s, i) =>
    gh.reactions.has(s.commentId) ? [gh.reactions.get(s.commentId)! - sentAt[i]!] : [],
  );
  await inspect.close();
  gh.close();
  rmSync(config.dataDir, { recursive: true, force: true });
  return { acked: ack.length, failed, ack, eyes, handledMs, lost: sent.length - stored, outOfOrder };
}

function report(name: string, rounds: Round[]) {
  const f = (x: number) => `${x.toFixed(1)} ms`;
  for (const [i, r] of rounds.entries()) {
    console.log(
      `${name} round ${i + 1}: acknowledged ${r.acked}/${THREADS * PER_THREAD} (non-2xx ${r.failed}), ` +
        `ack p50 ${f(pct(r.ack, 50))} p99 ${f(pct(r.ack, 99))} max ${f(Math.max(...r.ack))}; ` +
        `👀 p50 ${f(pct(r.eyes, 50))} p99 ${f(pct(r.eyes, 99))}; all handled after ${(r.handledMs / 1000).toFixed(1)} s; ` +
        `lost ${r.lost}; threads out of order ${r.outOfOrder}/${THREADS}`,
    );
  }
}

const pglite = await openDatabase({ dataDir: mkdtempSync(path.join(os.tmpdir(), "bench-load-db-")) });
const pgliteRounds: Round[] = [];
for (let r = 0; r < ROUNDS; r++) pgliteRounds.push(await round(pglite, "pglite", r));
await pglite.close();
report("PGlite", pgliteRounds);
const all = [...pgliteRounds];

const pg = await startPostgres();
if (!pg) console.log("PostgreSQL: not installed (apt-get install postgresql), skipped");
else {
  const database = await openDatabase({ url: pg.url });
  const pgRounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) pgRounds.push(await round(database, "pg", r));
  await database.close();
  pg.stop();
  report("PostgreSQL", pgRounds);
  all.push(...pgRounds);
}
const bad = all.some((r) => r.lost || r.outOfOrder || r.failed);
process.exit(bad ? 1 : 0);
