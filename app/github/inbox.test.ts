/**
 * The webhook inbox on both databases Inspect runs on (embedded PGlite and a real PostgreSQL
 * server), with several inboxes standing in for replicas sharing one database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../db/client.js";
import { getDelivery, pruneDeliveries, storeDelivery, takeDelivery, type DeliveryRow } from "../db/deliveries.js";
import { BackgroundTasks, type Logger } from "../util/tasks.js";
import { WebhookInbox, type DeliveryHandler, type InboxOptions } from "./inbox.js";
import { startPostgres, type TestPostgres } from "../../test/support/postgres.js";
import { until } from "../../test/support/wait.js";

let pg: TestPostgres | null = null;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.stop());

const backends: [string, () => Promise<Database>][] = [
  ["PGlite", () => openDatabase({ dataDir: "memory://" })],
  [
    "PostgreSQL",
    async () => {
      if (!pg) throw new Error("no PostgreSQL server: install Debian's postgresql package");
      // A database of its own: other files may use the same server.
      const admin = await openDatabase({ url: pg.url });
      const name = `inbox_${process.pid}_${Date.now()}`;
      await admin.db.execute(`CREATE DATABASE ${name}`);
      await admin.close();
      return openDatabase({ url: pg.url.replace(/\/postgres$/, `/${name}`) });
    },
  ],
];

interface Lines {
  log: Logger;
  lines: { level: string; msg: string }[];
}
function logger(): Lines {
  const lines: Lines["lines"] = [];
  const at = (level: string) => (_obj: unknown, msg?: string) => lines.push({ level, msg: msg ?? "" });
  return { lines, log: { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") } };
}

let n = 0;
const id = (tag: string) => `${tag}-${++n}-${Date.now()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(backends)("webhook inbox on %s", (_name, open) => {
  let database: Database;
  const stops: (() => void)[] = [];
  beforeAll(async () => {
    database = await open();
  }, 120_000);
  afterAll(async () => {
    for (const stop of stops) stop();
    await database?.close();
  });

  function replica(handler: DeliveryHandler, opts: InboxOptions = {}) {
    const { log, lines } = logger();
    const tasks = new BackgroundTasks(log);
    const inbox = new WebhookInbox(database.db, handler, tasks, log, {
      retryMs: 20,
      maxRetryMs: 100,
      sweepEveryMs: 60_000,
      ...opts,
    });
    return { inbox, tasks, lines };
  }

  it("handles a stored delivery once; a redelivery of it is a no-op", async () => {
    const seen: string[] = [];
    const { inbox, tasks } = replica(async (d) => void seen.push(d.id));
    const d = id("once");
    expect(await inbox.accept({ id: d, event: "issue_comment", payload: { n: 1 }, threadKey: "1#1" })).toBe(true);
    await tasks.drain();
    expect(await inbox.accept({ id: d, event: "issue_comment", payload: { n: 1 }, threadKey: "1#1" })).toBe(false);
    await tasks.drain();
    expect(seen).toEqual([d]);
    const row = await getDelivery(database.db, d);
    expect(row).toMatchObject({ attempts: 1, payload: { n: 1 }, lockedBy: null });
    expect(row!.doneAt).not.toBeNull();
  });

  it("keeps a thread's order across two replicas, whatever each delivery's work costs; other threads run alongside", async () => {
    const order = new Map<string, number[]>();
    const work: DeliveryHandler = async (d: DeliveryRow) => {
      const { thread, i } = d.payload as { thread: string; i: number };
      // Early deliveries are the slow ones: an in-arrival-order queue per replica would reorder them.
      await sleep(i === 0 ? 150 : Math.random() * 20);
      order.set(thread, [...(order.get(thread) ?? []), i]);
    };
    const a = replica(work);
    const b = replica(work);
    const threads = ["9#1", "9#2", "9#3"].map((t) => `${t}-${n++}`);
    for (let i = 0; i < 6; i++) {
      for (const thread of threads) {
        const via = (i + thread.length) % 2 === 0 ? a : b;
        await via.inbox.accept({ id: id("order"), event: "issue_comment", payload: { thread, i }, threadKey: thread });
      }
    }
    await until(
      "the inbox to get there",
      async () => {
        await Promise.all([a.tasks.drain(), b.tasks.drain()]);
        return threads.every((t) => order.get(t)?.length === 6);
      },
      20_000,
    );
    for (const t of threads) expect(order.get(t)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("retries a failing delivery with its attempts counted, holding its thread back, and gives up after the limit with a log line", async () => {
    const thread = `fail-${n++}`;
    const calls: string[] = [];
    const { inbox, tasks, lines } = replica(
      async (d) => {
        calls.push(d.id);
        if ((d.payload as { bad?: boolean }).bad) throw new Error("GitHub answered 502");
      },
      { maxAttempts: 3 },
    );
    const bad = id("bad");
    const good = id("good");
    await inbox.accept({ id: bad, event: "issue_comment", payload: { bad: true }, threadKey: thread });
    await inbox.accept({ id: good, event: "issue_comment", payload: {}, threadKey: thread });
    await until(
      "the inbox to get there",
      async () => {
        await tasks.drain();
        return calls.includes(good);
      },
      10_000,
    );
    // The later delivery waited for the failing one to be given up.
    expect(calls).toEqual([bad, bad, bad, good]);
    const row = await getDelivery(database.db, bad);
    expect(row).toMatchObject({ attempts: 3, lastError: "GitHub answered 502" });
    expect(row!.failedAt).not.toBeNull();
    expect(row!.doneAt).toBeNull();
    expect(lines.filter((l) => l.level === "warn" && l.msg.includes("retrying"))).toHaveLength(2);
    expect(lines.filter((l) => l.level === "error")).toEqual([
      { level: "error", msg: expect.stringContaining(`gave up on webhook delivery ${bad} after 3 attempts`) },
    ]);
    // GitHub redelivering a given-up delivery starts it over.
    expect(await storeDelivery(database.db, { id: bad, event: "issue_comment", payload: {}, threadKey: thread })).toBe(
      true,
    );
    expect(await getDelivery(database.db, bad)).toMatchObject({ attempts: 0, failedAt: null });
  });

  it("succeeds on a later attempt after transient failures (a GitHub 5xx, a database error)", async () => {
    let failures = 2;
    const attempts: number[] = [];
    const { inbox, tasks } = replica(async (d) => {
      attempts.push(d.attempts);
      if (failures-- > 0) throw new Error("connection terminated");
    });
    const d = id("transient");
    await inbox.accept({ id: d, event: "issues", payload: {}, threadKey: null });
    await until(
      "the inbox to get there",
      async () => {
        await tasks.drain();
        return (await getDelivery(database.db, d))?.doneAt != null;
      },
      10_000,
    );
    expect(attempts).toEqual([1, 2, 3]);
  });

  it("takes over a delivery whose replica died holding it once its lease runs out, and one stored but never started, at start", async () => {
    const thread = `dead-${n++}`;
    const held = id("held");
    const never = id("never");
    // A replica stored both, took the first, and died: no renewal, no done.
    await storeDelivery(database.db, { id: held, event: "issue_comment", payload: {}, threadKey: thread });
    await storeDelivery(database.db, { id: never, event: "issue_comment", payload: {}, threadKey: `${thread}-2` });
    const leaseMs = 1_500;
    const taken = Date.now();
    expect(await takeDelivery(database.db, held, "dead-replica", leaseMs)).not.toBeNull();

    const seen = new Map<string, number>();
    const { inbox, tasks } = replica(async (d) => void seen.set(d.id, Date.now()), { sweepEveryMs: 100 });
    stops.push(inbox.start());
    await until(
      "both handled",
      async () => {
        await tasks.drain();
        return seen.has(never) && seen.has(held);
      },
      10_000,
    );
    // The held one waited out the dead replica's lease; the other was taken at once.
    expect(seen.get(held)! - taken).toBeGreaterThanOrEqual(leaseMs - 100);
    expect(await getDelivery(database.db, held)).toMatchObject({ attempts: 2 });
  });

  it("renews the lease of slow work, so no other replica takes it meanwhile", async () => {
    const d = id("slow");
    let runs = 0;
    const slow = replica(
      async () => {
        runs++;
        await sleep(700);
      },
      { leaseMs: 200 },
    );
    const other = replica(async () => void runs++, { leaseMs: 200, sweepEveryMs: 50 });
    await slow.inbox.accept({ id: d, event: "issues", payload: {}, threadKey: null });
    stops.push(other.inbox.start());
    await sleep(900);
    await Promise.all([slow.tasks.drain(), other.tasks.drain()]);
    expect(runs).toBe(1);
  });

  it("prunes only finished deliveries", async () => {
    const done = id("done");
    const open = id("open");
    const { inbox, tasks } = replica(async () => {});
    await inbox.accept({ id: done, event: "issues", payload: {}, threadKey: null });
    await tasks.drain();
    await storeDelivery(database.db, { id: open, event: "issues", payload: {}, threadKey: `prune-${n++}` });
    await pruneDeliveries(database.db, new Date(Date.now() + 60_000));
    expect(await getDelivery(database.db, done)).toBeUndefined();
    expect(await getDelivery(database.db, open)).toBeDefined();
  });
});
