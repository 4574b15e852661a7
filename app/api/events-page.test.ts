/** GET /api/sessions/:id/events pages: `?after=<seq>&limit=`, at most 1,000 events a page. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { upsertRepository, upsertUser } from "../db/accounts.js";
import { openDatabase, type Database } from "../db/client.js";
import { insertEvents } from "../db/events.js";
import { insertSession } from "../db/sessions.js";
import { createInspect, type Inspect } from "../server.js";
import { LOCAL_VIEWER, type AccessPolicy } from "./access.js";

let database: Database;
let inspect: Inspect;
const id = "pagedSession1";
const everyone: AccessPolicy = {
  viewer: async () => LOCAL_VIEWER,
  canRead: async () => true,
  canWrite: async () => true,
};

beforeAll(async () => {
  database = await openDatabase({ dataDir: "memory://" });
  inspect = await createInspect(loadConfig({ INSPECT_DATA_DIR: "memory://", INSPECT_SECRET: "x".repeat(40) }), {
    database,
    logLevel: "fatal",
    access: everyone,
  });
  const repo = await upsertRepository(database.db, { owner: "acme", name: "paged", githubId: 1 });
  const user = await upsertUser(database.db, { login: "alice" });
  await insertSession(database.db, {
    id,
    repositoryId: repo.id,
    threadKind: "web",
    title: "t",
    baseBranch: "main",
    headBranch: "inspect/x",
    createdByUserId: user.id,
  });
  const events = Array.from({ length: 2_500 }, (_, i) => ({
    type: "agent.text.delta" as const,
    data: { partId: "p", delta: `${i}` },
  }));
  for (let i = 0; i < events.length; i += 500) await insertEvents(database.db, id, events.slice(i, i + 500));
}, 60_000);
afterAll(async () => {
  await inspect?.close();
  await database?.close();
});

const get = async (query: string) => {
  const res = await inspect.app.request(`/api/sessions/${id}/events${query}`, {
    headers: { accept: "application/json" },
  });
  return {
    status: res.status,
    body: (await res.json()) as { events: { seq: number }[]; lastSeq: number; next: number | null },
  };
};

describe("the events API", () => {
  it("answers at most 1,000 events a page and says where the next one starts, until the end", async () => {
    const seen: number[] = [];
    let after = 0;
    for (let page = 0; page < 10; page++) {
      const { status, body } = await get(`?after=${after}`);
      expect(status).toBe(200);
      expect(body.events.length).toBeLessThanOrEqual(1_000);
      seen.push(...body.events.map((e) => e.seq));
      if (body.next === null) break;
      after = body.next;
    }
    expect(seen).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
  });

  it("takes a smaller limit, and `since` as after's older name", async () => {
    const { body } = await get("?since=10&limit=5");
    expect(body.events.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
    expect(body.next).toBe(15);
    expect(body.lastSeq).toBe(2_500);
    expect((await get("?after=2499&limit=5")).body).toMatchObject({ events: [{ seq: 2_500 }], next: null });
  });

  it.each(["?limit=0", "?limit=1001", "?after=-1", "?after=x"])("refuses %s with 400", async (q) => {
    expect((await get(q)).status).toBe(400);
  });
});
