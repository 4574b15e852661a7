/**
 * The repository layer against both databases Inspect runs on: embedded PGlite
 * and a real PostgreSQL server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertRepository, upsertUser } from "./accounts.js";
import { openDatabase, type Database } from "./client.js";
import { insertEvents, listEvents } from "./events.js";
import { insertPrompt, takeNextPrompt, updatePromptIf } from "./prompts.js";
import {
  endRun,
  findClaimedRun,
  insertRun,
  markClaimed,
  oidcTokenUsed,
  pruneOidcTokenUses,
  queuedRun,
  recordDispatchedRun,
  staleRuns,
} from "./runs.js";
import { isUniqueViolation } from "./errors.js";
import { claimCheckRunCreation, findThreadSession, insertSession, updateSession, updateStatusIf } from "./sessions.js";
import { SessionBus } from "../sessions/bus.js";
import { EventLog } from "../sessions/event-log.js";
import { transition, tryTransition } from "../sessions/transition.js";
import { TransitionError } from "../sessions/state.js";
import { startPostgres, type TestPostgres } from "../../test/support/postgres.js";

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
      if (!pg)
        throw new Error("no PostgreSQL server: install Debian's postgresql package or set INSPECT_TEST_DATABASE_URL");
      const database = await openDatabase({ url: pg.url });
      // Each run starts clean; migrations are re-applied to prove they are idempotent.
      await database.db.execute(
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS drizzle CASCADE;",
      );
      await database.close();
      return openDatabase({ url: pg.url });
    },
  ],
];

describe.each(backends)("repository layer on %s", (_name, open) => {
  let database: Database;
  beforeAll(async () => {
    database = await open();
  }, 120_000);
  afterAll(() => database?.close());

  async function fixture(n: number) {
    const { db } = database;
    const repo = await upsertRepository(db, {
      owner: "acme",
      name: `widgets${n}`,
      githubId: 100 + n,
      installationId: 7,
    });
    const user = await upsertUser(db, { login: `alice${n}`, githubId: 42 });
    const session = await insertSession(db, {
      id: `sess${n}x`,
      repositoryId: repo.id,
      threadKind: "issue",
      threadNumber: n,
      title: "Fix it",
      baseBranch: "main",
      headBranch: `inspect/${n}-fix-it`,
      createdByUserId: user.id,
    });
    return { repo, user, session };
  }

  it("applies migrations again without harm", async () => {
    const again = await open();
    await again.close();
  });

  it("upserts repositories and users by name", async () => {
    const { db } = database;
    const a = await upsertRepository(db, { owner: "acme", name: "dup", githubId: 1 });
    const b = await upsertRepository(db, { owner: "acme", name: "dup", githubId: 1, defaultBranch: "trunk" });
    expect(b.id).toBe(a.id);
    expect(b.defaultBranch).toBe("trunk");
    const u1 = await upsertUser(db, { login: "bob", avatarUrl: "https://example.com/a.png" });
    const u2 = await upsertUser(db, { login: "bob", githubId: 9 });
    expect(u2.id).toBe(u1.id);
    expect(u2.githubId).toBe(9);
    expect(u2.avatarUrl).toBe("https://example.com/a.png");
  });

  it("assigns gap-free, monotonic seq under concurrent appends", async () => {
    const { session } = await fixture(1);
    const batches = Array.from({ length: 10 }, (_, i) =>
      insertEvents(database.db, session.id, [
        { type: "agent.text.delta", data: { partId: `p${i}`, delta: "a" } },
        { type: "agent.text.delta", data: { partId: `p${i}`, delta: "b" } },
      ]),
    );
    await Promise.all(batches);
    const events = await listEvents(database.db, session.id);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await listEvents(database.db, session.id, 15)).map((e) => e.seq)).toEqual([16, 17, 18, 19, 20]);
    // Each batch stays contiguous and in order.
    for (let i = 0; i < 20; i += 2) expect(events[i]!.data).toMatchObject({ delta: "a" });
  });

  it("hands out queued prompts in order, each once", async () => {
    const { session, user } = await fixture(2);
    const p1 = await insertPrompt(database.db, {
      sessionId: session.id,
      authorUserId: user.id,
      authorLogin: user.login,
      source: "web",
      text: "one",
    });
    const p2 = await insertPrompt(database.db, {
      sessionId: session.id,
      authorUserId: user.id,
      authorLogin: user.login,
      source: "web",
      text: "two",
    });
    const [a, b] = await Promise.all([
      takeNextPrompt(database.db, session.id),
      takeNextPrompt(database.db, session.id),
    ]);
    expect([a?.id, b?.id].sort()).toEqual([p1.id, p2.id].sort());
    expect(await takeNextPrompt(database.db, session.id)).toBeUndefined();
    expect(await updatePromptIf(database.db, session.id, p1.id, ["queued"], { status: "cancelled" })).toBeUndefined();
  });

  it("finds a thread's current session, never an archived one", async () => {
    const { session, repo } = await fixture(3);
    expect((await findThreadSession(database.db, repo.id, "issue", 3))?.id).toBe(session.id);
    expect(await updateStatusIf(database.db, session.id, ["queued"], "archived", "test")).toBeDefined();
    expect(await findThreadSession(database.db, repo.id, "issue", 3)).toBeUndefined();
  });

  it("lets one replica claim creating a commit's check run: not on an older read, again once the claim went stale", async () => {
    const { session } = await fixture(6);
    await updateSession(database.db, session.id, { headSha: "aaa" });
    // Read before the head moved, or before a run existed: loses.
    expect(await claimCheckRunCreation(database.db, session.id, "zzz", null)).toBe(false);
    expect(await claimCheckRunCreation(database.db, session.id, "aaa", 99)).toBe(false);
    expect(await claimCheckRunCreation(database.db, session.id, "aaa", null)).toBe(true);
    expect(await claimCheckRunCreation(database.db, session.id, "aaa", null)).toBe(false);
    // The run was created: the next one (work resumed on the same commit) is a new claim.
    await updateSession(database.db, session.id, { checkRunId: 501 });
    expect(await claimCheckRunCreation(database.db, session.id, "aaa", 501)).toBe(true);
    // A claim whose replica never followed it through is taken over once stale.
    expect(await claimCheckRunCreation(database.db, session.id, "aaa", 501, 60_000)).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    expect(await claimCheckRunCreation(database.db, session.id, "aaa", 501, 10)).toBe(true);
  });

  it("keeps one live session per thread in the database itself", async () => {
    const { session, repo, user } = await fixture(7);
    const second = {
      id: "sess7y",
      repositoryId: repo.id,
      threadKind: "issue",
      threadNumber: 7,
      title: "Again",
      baseBranch: "main",
      headBranch: "inspect/7-again",
      createdByUserId: user.id,
    };
    const error = await insertSession(database.db, second).catch((e: unknown) => e);
    expect(isUniqueViolation(error, "sessions_one_per_thread")).toBe(true);
    expect(isUniqueViolation(new Error("other"))).toBe(false);
    // Once the first is archived, the thread may have a new one.
    await updateStatusIf(database.db, session.id, ["queued"], "archived", "test");
    expect((await insertSession(database.db, second)).id).toBe("sess7y");
  });

  it("changes status only along allowed transitions, logging each", async () => {
    const { session } = await fixture(4);
    const log = new EventLog(database.db, new SessionBus());
    await transition({ db: database.db, events: log }, session.id, "starting");
    expect(await tryTransition({ db: database.db, events: log }, session.id, "completed")).toBeUndefined();
    await expect(transition({ db: database.db, events: log }, session.id, "queued")).rejects.toBeInstanceOf(
      TransitionError,
    );
    const events = await log.list(session.id);
    expect(events.map((e) => [e.type, (e.data as { status: string }).status])).toEqual([
      ["session.status", "starting"],
    ]);
  });

  it("lets one runner claim a run, and finds stale ones", async () => {
    const { session } = await fixture(5);
    const run = await insertRun(database.db, session.id, "claimhash");
    expect((await queuedRun(database.db, session.id))?.id).toBe(run.id);
    const [first, second] = await Promise.all([
      markClaimed(database.db, run.id, "tok1", {}),
      markClaimed(database.db, run.id, "tok2", {}),
    ]);
    expect([first, second].filter((o) => o.ok)).toHaveLength(1);
    expect([first, second].find((o) => !o.ok)).toEqual({ ok: false, reason: "taken" });
    const token = first.ok ? "tok1" : "tok2";
    expect(await findClaimedRun(database.db, session.id, token)).toBeDefined();
    const future = new Date(Date.now() + 60_000);
    expect((await staleRuns(database.db, future, future)).map((r) => r.id)).toContain(run.id);
    await endRun(database.db, run.id, "done");
    expect(await findClaimedRun(database.db, session.id, token)).toBeUndefined();
    expect(await endRun(database.db, run.id, "again")).toBeUndefined();
  });

  it("binds an Actions claim to one workflow run and one token, and a refusal records nothing", async () => {
    const { db } = database;
    const [a, b, c] = [(await fixture(20)).session, (await fixture(21)).session, (await fixture(22)).session];
    const later = new Date(Date.now() + 600_000);
    // Run ids above 2^31, as GitHub's are.
    const runA = await insertRun(db, a.id, null);
    await recordDispatchedRun(db, runA.id, 30_000_000_001);
    // Another workflow run cannot take a run row dispatched as a different one.
    expect(
      await markClaimed(db, runA.id, "t0", {}, { githubRunId: 30_000_000_002, jti: "jti-0", tokenExpiresAt: later }),
    ).toEqual({ ok: false, reason: "taken" });
    expect(await oidcTokenUsed(db, "jti-0")).toBe(false);
    const claimed = await markClaimed(
      db,
      runA.id,
      "t1",
      {},
      { githubRunId: 30_000_000_001, jti: "jti-1", tokenExpiresAt: later },
    );
    expect(claimed).toMatchObject({ ok: true, run: { state: "claimed", githubRunId: 30_000_000_001 } });
    expect(await oidcTokenUsed(db, "jti-1")).toBe(true);

    // The same token again, for another session: refused, that run still queued.
    const runB = await insertRun(db, b.id, null);
    expect(
      await markClaimed(db, runB.id, "t2", {}, { githubRunId: 30_000_000_003, jti: "jti-1", tokenExpiresAt: later }),
    ).toEqual({ ok: false, reason: "token_used" });
    expect((await queuedRun(db, b.id))?.githubRunId).toBeNull();
    // The workflow run that claimed A, with a new token, for another session: refused, the token not recorded.
    expect(
      await markClaimed(db, runB.id, "t3", {}, { githubRunId: 30_000_000_001, jti: "jti-3", tokenExpiresAt: later }),
    ).toEqual({ ok: false, reason: "workflow_run_used" });
    expect(await oidcTokenUsed(db, "jti-3")).toBe(false);
    expect((await queuedRun(db, b.id))?.state).toBe("queued");

    // Two claims with one token at once (two replicas): one wins.
    const runC = await insertRun(db, c.id, null);
    const race = await Promise.all([
      markClaimed(db, runB.id, "t4", {}, { githubRunId: 30_000_000_004, jti: "jti-4", tokenExpiresAt: later }),
      markClaimed(db, runC.id, "t5", {}, { githubRunId: 30_000_000_005, jti: "jti-4", tokenExpiresAt: later }),
    ]);
    expect(race.filter((o) => o.ok)).toHaveLength(1);
    expect(race.find((o) => !o.ok)).toEqual({ ok: false, reason: "token_used" });

    // Expired tokens are forgotten; live ones kept.
    await markClaimed(
      db,
      (await insertRun(db, c.id, null)).id,
      "t6",
      {},
      { githubRunId: 30_000_000_006, jti: "jti-old", tokenExpiresAt: new Date(Date.now() - 1_000) },
    );
    expect(await pruneOidcTokenUses(db)).toBeGreaterThanOrEqual(1);
    expect(await oidcTokenUsed(db, "jti-old")).toBe(false);
    expect(await oidcTokenUsed(db, "jti-1")).toBe(true);
  });
});
