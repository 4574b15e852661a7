/**
 * npm run bench:control-plane — what the control plane costs on this machine:
 *  - database startup: a new PGlite, reopening it, a real PostgreSQL (migrations included);
 *  - webhook → acknowledgement: a signed issue_comment POSTed to the running server over HTTP,
 *    until GitHub (a local fake on loopback, reached through GHE_HOST) receives the 👀 reaction,
 *    and until it receives the status comment with the session link.
 * Production Octokit (retry + throttling) is used as is.
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../app/config.js";
import { openDatabase } from "../app/db/client.js";
import { createInspect } from "../app/server.js";
import { startPostgres } from "../test/support/postgres.js";

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (x: number) => `${x.toFixed(1)} ms`;

async function databases() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-db-"));
  let t = process.hrtime.bigint();
  let db = await openDatabase({ dataDir: dir });
  const pgliteNew = ms(t);
  await db.close();
  t = process.hrtime.bigint();
  db = await openDatabase({ dataDir: dir });
  const pgliteReopen = ms(t);
  await db.close();
  rmSync(dir, { recursive: true, force: true });

  const pg = await startPostgres();
  let postgresNew = NaN;
  let postgresReopen = NaN;
  if (pg) {
    t = process.hrtime.bigint();
    db = await openDatabase({ url: pg.url });
    postgresNew = ms(t);
    await db.close();
    t = process.hrtime.bigint();
    db = await openDatabase({ url: pg.url });
    postgresReopen = ms(t);
    await db.close();
    pg.stop();
  }
  return { pgliteNew, pgliteReopen, postgresNew, postgresReopen };
}

async function webhookToAck(iterations: number) {
  const waiters = new Map<string, (t: bigint) => void>();
  let nextId = 1000;
  const gh = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = (req.url ?? "").replace(/^\/api\/v3/, "").split("?")[0]!;
      const now = process.hrtime.bigint();
      const reply = (status: number, data: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(data));
      };
      if (req.method === "POST" && /\/access_tokens$/.test(url))
        return reply(201, {
          token: "ghs_bench",
          expires_at: new Date(Date.now() + 3.6e6).toISOString(),
          permissions: {},
        });
      if (req.method === "GET" && url === "/app") return reply(200, { slug: "inspect" });
      if (req.method === "GET" && /\/installation$/.test(url)) return reply(200, { id: 2 });
      if (/\/permission$/.test(url)) return reply(200, { permission: "write", role_name: "write" });
      const reaction = url.match(/\/issues\/comments\/(\d+)\/reactions$/);
      if (reaction) {
        waiters.get(`reaction:${reaction[1]}`)?.(now);
        return reply(201, { id: nextId++ });
      }
      const comment = url.match(/\/issues\/(\d+)\/comments$/);
      if (comment && req.method === "POST") {
        waiters.get(`comment:${comment[1]}`)?.(now);
        return reply(201, { id: nextId++ });
      }
      if (/dispatches$/.test(url)) return reply(204, {});
      return reply(200, {});
    });
  });
  await new Promise<void>((r) => gh.listen(0, "127.0.0.1", r));
  const ghPort = (gh.address() as { port: number }).port;

  const secret = "bench-secret";
  const config = loadConfig({
    APP_ID: "1",
    PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString(),
    WEBHOOK_SECRET: secret,
    GHE_HOST: `127.0.0.1:${ghPort}`,
    GHE_PROTOCOL: "http",
    INSPECT_RUNNER: "actions",
    INSPECT_RUNNER_REPO: "acme/runner",
    INSPECT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "bench-cp-")),
    INSPECT_SECRET: "b".repeat(40),
    INSPECT_PARTY_URL: "http://127.0.0.1:9", // no room server: forwarding fails fast and is logged
  });
  const database = await openDatabase({ dataDir: "memory://" });
  const inspect = await createInspect(config, { database, logLevel: "fatal" });
  const { url } = await inspect.listen(0, "127.0.0.1");

  const response: number[] = [];
  const reaction: number[] = [];
  const comment: number[] = [];
  for (let i = 0; i < iterations + 1; i++) {
    const issue = 1 + i;
    const commentId = 50_000 + i;
    const payload = {
      action: "created",
      installation: { id: 2 },
      repository: {
        id: 1,
        name: "widgets",
        full_name: "acme/widgets",
        owner: { login: "acme" },
        default_branch: "main",
        private: true,
      },
      sender: { login: "alice", id: 7, type: "User" },
      issue: { number: issue, title: "Bench issue", body: "body", html_url: "http://x/1" },
      comment: { id: commentId, body: "@inspect fix it", user: { login: "alice", id: 7, type: "User" } },
    };
    const body = JSON.stringify(payload);
    const gotReaction = new Promise<bigint>((r) => waiters.set(`reaction:${commentId}`, r));
    const gotComment = new Promise<bigint>((r) => waiters.set(`comment:${issue}`, r));
    const t0 = process.hrtime.bigint();
    const res = await fetch(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issue_comment",
        "x-github-delivery": `bench-${i}`,
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    });
    const tResponse = ms(t0);
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
    const [tr, tc] = await Promise.all([gotReaction, gotComment]);
    await inspect.tasks.drain();
    if (i === 0) {
      console.log(
        `cold first webhook: response ${fmt(tResponse)}, 👀 ${fmt(Number(tr - t0) / 1e6)}, status comment ${fmt(Number(tc - t0) / 1e6)}`,
      );
      continue;
    }
    response.push(tResponse);
    reaction.push(Number(tr - t0) / 1e6);
    comment.push(Number(tc - t0) / 1e6);
  }
  await inspect.close();
  await database.close();
  gh.close();
  return { response, reaction, comment };
}

const iterations = Number(process.env.BENCH_ITERATIONS ?? 30);
const db = await databases();
console.log(`PGlite, new database (with migrations): ${fmt(db.pgliteNew)}`);
console.log(`PGlite, reopen:                         ${fmt(db.pgliteReopen)}`);
console.log(`PostgreSQL 15, first connect + migrate: ${fmt(db.postgresNew)}`);
console.log(`PostgreSQL 15, reconnect (no-op migrate): ${fmt(db.postgresReopen)}`);
const w = await webhookToAck(iterations);
for (const [name, xs] of Object.entries({
  "webhook HTTP response": w.response,
  "webhook → 👀 reaction at GitHub": w.reaction,
  "webhook → status comment at GitHub": w.comment,
})) {
  console.log(
    `${name}: p50 ${fmt(pct(xs, 50))}, p95 ${fmt(pct(xs, 95))}, max ${fmt(Math.max(...xs))} (n=${xs.length}, sequential, warm)`,
  );
}
