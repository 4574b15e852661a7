/**
 * Bad input at the edge, through the real app and database (GitHub faked at the HTTP boundary):
 * real example payloads from @octokit/webhooks-examples, mutated at random (seeded, so a failure
 * replays) and correctly signed, never get a 5xx and never leave a partial session; a body over
 * a route's cap is refused with 413 on every route the app serves, before it is read.
 */
import { request } from "node:http";
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../db/client.js";
import type { Inspect } from "../server.js";
import { FakeGitHub } from "../../test/support/fake-github.js";
import { deliver, githubEnv, testInspect } from "../../test/support/inspect.js";
import { allExamples } from "../../test/support/payloads.js";

type Json = Record<string, unknown>;

let database: Database;
beforeAll(async () => {
  database = await openDatabase({ dataDir: "memory://" });
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterAll(async () => {
  nock.enableNetConnect();
  await database.close();
});

/** mulberry32: a small seeded generator, so a failing mutant can be made again. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every [holder, key] in a JSON tree. */
function slots(value: unknown, out: [Json | unknown[], string | number][] = []): typeof out {
  if (Array.isArray(value))
    value.forEach((v, i) => {
      out.push([value, i]);
      slots(v, out);
    });
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Json, k]);
      slots(v, out);
    }
  return out;
}

const ODD_VALUES: unknown[] = [
  null,
  0,
  -1,
  1e21,
  2 ** 53 + 1,
  3.5,
  true,
  "",
  "x".repeat(20_000),
  "@inspect do it",
  "@inspect stop",
  "nul\u0000in the middle",
  "\u202e\u200b<!-- hidden -->🙂",
  [],
  {},
  [1, "two", null],
  { id: "not-a-number", login: 5 },
];

function mutate(payload: Json, rand: () => number): Json {
  const p = structuredClone(payload);
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const all = slots(p);
    const [holder, key] = all[Math.floor(rand() * all.length)]!;
    if (!Array.isArray(holder) && rand() < 0.25) delete holder[key as string];
    else (holder as Record<string | number, unknown>)[key] = ODD_VALUES[Math.floor(rand() * ODD_VALUES.length)];
  }
  return p;
}

describe("mutated real webhook payloads, signed", () => {
  let inspect: Inspect;
  let gh: FakeGitHub;
  beforeAll(async () => {
    gh = new FakeGitHub();
    // Everyone may write: the mutants should get as far as they can.
    gh.on("GET", /\/collaborators\/[^/]+\/permission$/, () => [200, { permission: "admin", role_name: "admin" }]);
    gh.on("GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/, (m) => [
      200,
      {
        number: Number(m[1]),
        state: "open",
        html_url: "https://github.com/x/y/pull/1",
        head: { ref: "f", sha: "abc1234", repo: { full_name: "Codertocat/Hello-World" } },
        base: { ref: "main" },
      },
    ]);
    inspect = await testInspect(githubEnv(), database, { inbox: { retryMs: 10, maxRetryMs: 20, maxAttempts: 2 } });
  });
  afterAll(async () => {
    await inspect?.close();
    gh?.close();
  });

  it("never answer 5xx, and leave no session without its prompt and run", async () => {
    const examples = allExamples([
      "issue_comment",
      "issues",
      "pull_request",
      "pull_request_review",
      "pull_request_review_comment",
      "check_run",
    ]);
    const rand = random(Number(process.env.FUZZ_SEED ?? 16));
    const statuses = new Map<number, number>();
    let sent = 0;
    for (const e of examples) {
      for (let m = 0; m < 3; m++) {
        const base = structuredClone(e.payload);
        base.installation ??= { id: 77 };
        // Half of them ask for work, so the prompt path gets the mutants too.
        for (const holder of [base.comment, base.issue, base.pull_request, base.review] as Json[])
          if (holder && typeof holder === "object" && rand() < 0.5) holder.body = "@inspect fix it";
        const body = mutate(base, rand);
        const res = await deliver(inspect, e.name, body, { id: `fuzz-${e.name}-${e.action}-${sent++}` });
        const label = `${e.name}.${e.action} mutant ${m}: ${JSON.stringify(body).slice(0, 300)}`;
        expect(res.status, label).toBeLessThan(500);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }
    // Let every delivery run its course, retries included.
    for (let i = 0; i < 50; i++) {
      await inspect.tasks.drain();
      await inspect.inbox!.sweep();
      await inspect.tasks.drain();
      const open = await rows<{ c: number }>(
        "SELECT count(*)::int AS c FROM webhook_deliveries WHERE id LIKE 'fuzz-%' AND done_at IS NULL AND failed_at IS NULL",
      );
      if (open[0]!.c === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sent).toBeGreaterThan(200);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    // No partial session: each has its first prompt and a run.
    const partial = await rows(
      `SELECT s.id, s.status,
              (SELECT count(*)::int FROM prompts p WHERE p.session_id = s.id) AS prompts,
              (SELECT count(*)::int FROM runs r WHERE r.session_id = s.id) AS runs
         FROM sessions s`,
    );
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.filter((s) => !(Number(s.prompts) > 0 && Number(s.runs) > 0))).toEqual([]);
    // A payload Inspect cannot use is ignored, not retried until given up.
    const gaveUp = await rows(
      "SELECT id, last_error FROM webhook_deliveries WHERE id LIKE 'fuzz-%' AND failed_at IS NOT NULL",
    );
    expect(gaveUp).toEqual([]);
  }, 300_000);
});

async function rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  return ((await database.db.execute(sql)) as unknown as { rows: T[] }).rows;
}

/** A request declaring a body one byte over `cap`: the answer must come before the body is sent. */
function oversized(port: number, method: string, path: string, cap: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: { "content-type": "application/json", "content-length": String(cap + 1), origin: "http://x" },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    req.on("error", reject);
    // A little of the body, then nothing: a server waiting to read it all would never answer.
    req.write("{".padEnd(1024, " "));
  });
}

describe("a body over the cap", () => {
  it.each([
    ["with a GitHub App and Slack", true],
    ["in local mode", false],
  ])(
    "is refused with 413 on every route the app serves, %s",
    async (_mode, github) => {
      const env = github
        ? githubEnv({
            SLACK_SIGNING_SECRET: "s".repeat(32),
            SLACK_BOT_TOKEN: "xoxb-1",
            SLACK_API_URL: "http://127.0.0.1:9/",
          })
        : { INSPECT_DATA_DIR: "memory://", INSPECT_SECRET: "x".repeat(40) };
      const inspect = await testInspect(env, database);
      try {
        const { port } = await inspect.listen(0, "127.0.0.1");
        const routes = inspect.app.routes.filter((r) => r.method !== "ALL" && !r.path.includes("*"));
        expect(routes.length).toBeGreaterThan(10);
        const refused: string[] = [];
        for (const r of new Map(routes.map((x) => [`${x.method} ${x.path}`, x])).values()) {
          const path = r.path.replace(/:(\w+)(\{[^}]*\})?/g, "abc123");
          const webhook = path === "/api/github/webhooks";
          const status = await oversized(port, r.method, path, webhook ? 25 * 1024 * 1024 : 2_000_000);
          if (status !== 413) refused.push(`${r.method} ${path} → ${status}`);
        }
        expect(refused).toEqual([]);
      } finally {
        await inspect.close();
      }
    },
    120_000,
  );
});
