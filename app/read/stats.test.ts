/**
 * The stats figures (app/read/stats.ts) on a real database over a seeded history, at a fixed
 * "now": several repositories, PRs opened, merged and closed (dated by their events), cost
 * with priced and unpriced prompts, who is prompting now (each rule on its own), days in the
 * viewer's time zone, and rows dated after now (clock skew) that must not break anything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertRepository, upsertUser } from "../db/accounts.js";
import { openDatabase, type Database } from "../db/client.js";
import { insertEvents } from "../db/events.js";
import { insertPrompt } from "../db/prompts.js";
import { insertSession, type NewSessionRow } from "../db/sessions.js";
import { sessionStats } from "./stats.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const now = new Date("2030-03-10T12:00:00Z");
const at = (msAgo: number) => new Date(now.getTime() - msAgo);

let database: Database;
let widgets: number;
let gadgets: number;
let skewed: number;
let userId: number;

beforeAll(async () => {
  database = await openDatabase({ dataDir: "memory://" });
  const db = database.db;
  widgets = (await upsertRepository(db, { owner: "acme", name: "widgets", githubId: 501 })).id;
  gadgets = (await upsertRepository(db, { owner: "acme", name: "gadgets", githubId: 502 })).id;
  skewed = (await upsertRepository(db, { owner: "acme", name: "skewed", githubId: 503 })).id;
  userId = (await upsertUser(db, { login: "alice" })).id;
  await upsertUser(db, { login: "bob" });
});
afterAll(async () => {
  await database?.close();
});

let thread = 0;
async function session(id: string, extra: Partial<NewSessionRow>) {
  await insertSession(database.db, {
    id,
    repositoryId: widgets,
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
const prompt = (sessionId: string, author: string, createdAt: Date, usage?: object) =>
  insertPrompt(database.db, {
    sessionId,
    authorUserId: userId,
    authorLogin: author,
    source: "web",
    text: "go",
    createdAt,
    ...(usage ? { usage, status: "done" as const } : {}),
  });
const lifecycle = (sessionId: string, opened: Date, decided?: { at: Date; merged: boolean }) =>
  insertEvents(database.db, sessionId, [
    { type: "pr.opened", data: { number: 1, url: "https://gh.example/pull/1", draft: true }, ts: opened.toISOString() },
    ...(decided
      ? [
          {
            type: "session.status" as const,
            data: {
              status: "archived" as const,
              reason: decided.merged ? "pull request merged" : "pull request closed",
            },
            ts: decided.at.toISOString(),
          },
        ]
      : []),
  ]);
const priced = (cost: number) => ({ inputTokens: 1000, outputTokens: 100, cost });
const unpriced = { inputTokens: 500, outputTokens: 50 };

describe("figures over a seeded history", () => {
  beforeAll(async () => {
    // widgets: a merged PR (prompt → PR 20 min, PR → merge 2 h), a closed one, one still open.
    await session("wMerged01", { createdAt: at(2 * DAY), prNumber: 1, status: "archived" });
    await prompt("wMerged01", "alice", at(2 * DAY), priced(0.5));
    await prompt("wMerged01", "bob", at(2 * DAY - HOUR), priced(0.25));
    await lifecycle("wMerged01", at(2 * DAY - 20 * MIN), { at: at(2 * DAY - 20 * MIN - 2 * HOUR), merged: true });
    await session("wClosed01", { createdAt: at(DAY), prNumber: 2, status: "archived" });
    await prompt("wClosed01", "alice", at(DAY), unpriced);
    await lifecycle("wClosed01", at(DAY - 40 * MIN), { at: at(DAY - 3 * HOUR), merged: false });
    await session("wOpen0001", { createdAt: at(5 * HOUR), prNumber: 3 });
    await prompt("wOpen0001", "bob", at(5 * HOUR), priced(1));
    await lifecycle("wOpen0001", at(5 * HOUR - 30 * MIN));
    // Outside a 7-day window, inside 14.
    await session("wOld00001", { createdAt: at(10 * DAY) });
    await prompt("wOld00001", "carol", at(10 * DAY), priced(2));
    // gadgets: a merged PR of bob's (PR → merge 4 h); a warm sandbox never counts.
    await session("gMerged01", { repositoryId: gadgets, createdAt: at(3 * DAY), prNumber: 7, status: "archived" });
    await prompt("gMerged01", "bob", at(3 * DAY), priced(0.75));
    await lifecycle("gMerged01", at(3 * DAY - HOUR), { at: at(3 * DAY - 5 * HOUR), merged: true });
    await session("gWarm0001", { repositoryId: gadgets, threadKind: "warm", threadNumber: null, createdAt: at(HOUR) });
  });

  it("counts sessions, prompts and PRs, with medians, cost and cost per merged PR", async () => {
    const s = await sessionStats(database.db, { repositoryIds: [widgets, gadgets], days: 7, timeZone: "UTC", now });
    expect(s).toMatchObject({
      days: 7,
      from: "2030-03-04",
      to: "2030-03-10",
      sessions: 4,
      prompts: 5,
      prsOpened: 4,
      prsMerged: 2,
      prsClosedUnmerged: 1,
      mergeRate: 0.5,
      medianPromptToPrMs: 35 * MIN, // 20, 30, 40 and 60 min
      medianPrToMergeMs: 3 * HOUR, // 2 h and 4 h
    });
    // One prompt ran on an unpriced model: its cost is unknown, not $0.
    expect(s.cost).toEqual({ usd: 2.5, pricedPrompts: 4, unpricedPrompts: 1 });
    expect(s.costPerMergedPr).toEqual({ usd: 1.25, pricedPrompts: 4, unpricedPrompts: 1 });
    expect(s.perDay).toHaveLength(7);
    expect(s.perDay.find((d) => d.day === "2030-03-08")).toEqual({
      day: "2030-03-08",
      sessions: 1,
      prompts: 2,
      prsMerged: 1,
      costUsd: 0.75,
    });
    expect(s.repositories.find((r) => r.fullName === "acme/gadgets")).toMatchObject({ sessions: 1, prsMerged: 1 });
    // People: sessions they started, prompts they wrote, their prompts' cost.
    expect(s.people.find((p) => p.login === "bob")).toMatchObject({
      prompts: 3,
      cost: { usd: 2, pricedPrompts: 3, unpricedPrompts: 0 },
    });
    expect(s.people.find((p) => p.login === "alice")).toMatchObject({ sessions: 4, prompts: 2, prsMerged: 2 });
  });

  it("widens with the window and narrows to the repositories asked for", async () => {
    const wide = await sessionStats(database.db, { repositoryIds: [widgets, gadgets], days: 14, timeZone: "UTC", now });
    expect(wide.sessions).toBe(5);
    expect(wide.cost.usd).toBe(4.5);
    const one = await sessionStats(database.db, {
      repositoryIds: [gadgets],
      days: 7,
      timeZone: "UTC",
      repository: "acme/gadgets",
      now,
    });
    expect(one).toMatchObject({ repository: "acme/gadgets", sessions: 1, prsMerged: 1, prsOpened: 1 });
    expect(one.repositories.map((r) => r.fullName)).toEqual(["acme/gadgets"]);
    const none = await sessionStats(database.db, { repositoryIds: [], days: 7, timeZone: "UTC", now });
    expect(none).toMatchObject({ sessions: 0, prompts: 0, promptingNow: 0, mergeRate: null, costPerMergedPr: null });
  });

  it("puts each day in the viewer's time zone", async () => {
    // 2030-03-09 23:30 UTC is already the 10th in Tokyo, and still the 9th in Los Angeles.
    await session("tzLate001", { repositoryId: skewed, createdAt: new Date("2030-03-09T23:30:00Z") });
    const tokyo = await sessionStats(database.db, { repositoryIds: [skewed], days: 7, timeZone: "Asia/Tokyo", now });
    expect(tokyo.to).toBe("2030-03-10"); // 21:00 in Tokyo
    expect(tokyo.perDay.find((d) => d.day === "2030-03-10")?.sessions).toBe(1);
    const la = await sessionStats(database.db, {
      repositoryIds: [skewed],
      days: 7,
      timeZone: "America/Los_Angeles",
      now,
    });
    expect(la.to).toBe("2030-03-10"); // 05:00 in Los Angeles
    expect(la.perDay.find((d) => d.day === "2030-03-09")?.sessions).toBe(1);
    expect(la.from).toBe("2030-03-04");
  });

  it("tolerates sessions and prompts dated after now: in the totals, on no day", async () => {
    await session("future001", { repositoryId: skewed, createdAt: new Date(now.getTime() + 2 * DAY) });
    await prompt("future001", "skewed", new Date(now.getTime() + 2 * DAY), priced(0.1));
    const s = await sessionStats(database.db, { repositoryIds: [skewed], days: 7, timeZone: "UTC", now });
    expect(s.sessions).toBe(2);
    expect(s.cost.usd).toBe(0.1);
    expect(s.perDay.map((d) => d.day)).not.toContain("2030-03-12");
    expect(s.perDay.reduce((n, d) => n + d.costUsd, 0)).toBe(0);
  });
});

describe("prompting now", () => {
  let repo: number;
  beforeAll(async () => {
    repo = (await upsertRepository(database.db, { owner: "acme", name: "live", githubId: 504 })).id;
    await session("statIdle01", { repositoryId: repo, status: "idle" });
    await session("statRun001", { repositoryId: repo, status: "running" });
    await session("statStart1", { repositoryId: repo, status: "starting" });
    await session("statDone01", { repositoryId: repo, status: "completed" });
    await prompt("statIdle01", "recent", at(10 * MIN)); // wrote within the hour, nothing working: the first rule only
    await prompt("statRun001", "working", at(2 * HOUR)); // wrote long ago, its session is running: the second rule only
    await prompt("statStart1", "booting", at(2 * HOUR)); // …or starting
    await prompt("statDone01", "earlier", at(61 * MIN)); // just outside the hour, nothing working: not prompting
    await prompt("statIdle01", "earlier", at(2 * HOUR));
  });
  const count = async (when: Date) =>
    (await sessionStats(database.db, { repositoryIds: [repo], days: 14, timeZone: "UTC", now: when })).promptingNow;

  it("counts people who wrote a prompt in the last hour or whose session is working, and nobody else", async () => {
    expect(await count(now)).toBe(3); // recent, working, booting — not earlier
  });

  it("each rule counts on its own", async () => {
    expect(await count(new Date(now.getTime() + 61 * MIN))).toBe(2); // working, booting
    expect(await count(new Date(now.getTime() - 10 * MIN + 1))).toBe(4); // recent, earlier, working, booting
  });
});
