/**
 * The stats page's figures (app/read/queries.ts sessionStats) on a real database, at a
 * fixed "now": who counts as active now (each rule on its own), and rows dated
 * after now (clock skew between replicas or the database) do not break the page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertRepository, upsertUser } from "../db/accounts.js";
import { openDatabase, type Database } from "../db/client.js";
import { insertPrompt } from "../db/prompts.js";
import { insertSession, type NewSessionRow } from "../db/sessions.js";
import { sessionStats } from "./queries.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const now = new Date("2030-03-10T12:00:00Z");
const at = (msAgo: number) => new Date(now.getTime() - msAgo);

let database: Database;
let repoId: number;
let otherRepoId: number;
let userId: number;

beforeAll(async () => {
  database = await openDatabase({ dataDir: "memory://" });
  const db = database.db;
  repoId = (await upsertRepository(db, { owner: "acme", name: "stats", githubId: 501 })).id;
  otherRepoId = (await upsertRepository(db, { owner: "acme", name: "skewed", githubId: 502 })).id;
  userId = (await upsertUser(db, { login: "someone" })).id;
});
afterAll(async () => {
  await database?.close();
});

let thread = 0;
async function session(id: string, extra: Partial<NewSessionRow>) {
  await insertSession(database.db, {
    id,
    repositoryId: repoId,
    threadKind: "issue",
    threadNumber: ++thread,
    title: id,
    status: "idle",
    baseBranch: "main",
    headBranch: `inspect/${id}`,
    createdByUserId: userId,
    createdAt: at(3 * HOUR),
    ...extra,
  });
}
const prompt = (sessionId: string, author: string, createdAt: Date) =>
  insertPrompt(database.db, {
    sessionId,
    authorUserId: userId,
    authorLogin: author,
    source: "web",
    text: "go",
    createdAt,
  });

describe("active users now", () => {
  beforeAll(async () => {
    await session("statIdle01", { status: "idle" });
    await session("statRun001", { status: "running" });
    await session("statStart1", { status: "starting" });
    await session("statDone01", { status: "completed" });
    await prompt("statIdle01", "recent", at(10 * MIN)); // wrote within the hour, nothing working: active by the first rule only
    await prompt("statRun001", "working", at(2 * HOUR)); // wrote long ago, its session is running: the second rule only
    await prompt("statStart1", "booting", at(2 * HOUR)); // …or starting
    await prompt("statDone01", "earlier", at(61 * MIN)); // just outside the hour, nothing working: not active
    await prompt("statIdle01", "earlier", at(2 * HOUR));
  });

  it("counts people who wrote a prompt in the last hour or whose session is working, and nobody else", async () => {
    const stats = await sessionStats(database.db, [repoId], 14, now);
    expect(stats.activeUsersNow).toBe(3); // recent, working, booting — not earlier
    expect(stats.prompts).toBe(5);
  });

  it("each rule counts on its own", async () => {
    // An hour later the recent prompt no longer counts; the working sessions still do.
    const later = await sessionStats(database.db, [repoId], 14, new Date(now.getTime() + 61 * MIN));
    expect(later.activeUsersNow).toBe(2); // working, booting
    // Just after the recent prompt, "earlier" (61 min before now) is 51 minutes old and counts too.
    const sooner = await sessionStats(database.db, [repoId], 14, new Date(now.getTime() - 10 * MIN + 1));
    expect(sooner.activeUsersNow).toBe(4); // recent, earlier, working, booting
  });
});

describe("clock skew", () => {
  it("tolerates sessions and prompts dated after now", async () => {
    await session("statFutur1", { repositoryId: otherRepoId, createdAt: new Date(now.getTime() + 2 * 86_400_000) });
    await session("statToday1", { repositoryId: otherRepoId, createdAt: at(HOUR) });
    await prompt("statFutur1", "skewed", new Date(now.getTime() + 2 * 86_400_000));
    const stats = await sessionStats(database.db, [otherRepoId], 14, now);
    expect(stats.sessions).toBe(2);
    expect(stats.days.at(-1)).toEqual({ day: "2030-03-10", sessions: 1, prompts: 0 });
    expect(stats.days.map((d) => d.day)).not.toContain("2030-03-12");
  });
});
