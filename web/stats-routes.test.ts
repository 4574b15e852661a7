/**
 * GET /api/stats over real HTTP, GitHub replaced at its HTTP boundary: the figures a dashboard
 * gets are the page's, computed only over repositories the viewer can read; naming one they
 * cannot read answers 404 as for one that does not exist; bad parameters fall back to defaults.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stats } from "../protocol/stats.js";
import { seedStatsHistory } from "../test/support/stats-history.js";
import { signIn, startWebStack, type WebStack } from "../test/support/web-stack.js";

let stack: WebStack;
let alice: string;
let mallory: string;

beforeAll(async () => {
  stack = await startWebStack(
    { alice: { "acme/widgets": { pull: true, push: false } }, mallory: {} },
    { withRooms: false },
  );
  await seedStatsHistory(stack);
  alice = await signIn(stack, "alice");
  mallory = await signIn(stack, "mallory");
});
afterAll(async () => {
  await stack?.close();
});

const get = (query: string, cookie?: string) =>
  fetch(`${stack.url}/api/stats${query}`, { headers: cookie ? { cookie } : {} });

describe("GET /api/stats", () => {
  it("answers the figures over the repositories the viewer can read, and nothing of the others", async () => {
    const res = await get("?days=7", alice);
    expect(res.status).toBe(200);
    const s = (await res.json()) as Stats;
    expect(s).toMatchObject({
      days: 7,
      timeZone: "UTC",
      repository: null,
      sessions: 3,
      prompts: 4,
      prsOpened: 3,
      prsMerged: 1,
      prsClosedUnmerged: 1,
      medianPrToMergeMs: 3 * 3_600_000 - 10 * 60_000,
      cost: { usd: 1.75, pricedPrompts: 3, unpricedPrompts: 1 },
      costPerMergedPr: { usd: 1.75 },
    });
    expect(s.perDay).toHaveLength(7);
    expect(s.repositories.map((r) => r.fullName)).toEqual(["acme/widgets"]);
    expect(JSON.stringify(s)).not.toMatch(/secret|erin/);
  });

  it("filters to one readable repository; an unreadable one is not found", async () => {
    const one = (await (await get("?repo=acme/widgets", alice)).json()) as Stats;
    expect(one).toMatchObject({ repository: "acme/widgets", sessions: 3, days: 14 });
    const hidden = await get("?repo=acme/secret", alice);
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toEqual({ error: "unknown repository, or you cannot read it" });
    expect((await get("?repo=acme/nope", alice)).status).toBe(404);
  });

  it("gives a viewer without access to any repository nothing but zeros", async () => {
    const s = (await (await get("", mallory)).json()) as Stats;
    expect(s).toMatchObject({
      sessions: 0,
      prompts: 0,
      promptingNow: 0,
      cost: { usd: 0 },
      people: [],
      repositories: [],
    });
  });

  it("asks for sign-in first, and takes only known windows and real time zones", async () => {
    expect((await get("")).status).toBe(401);
    const odd = (await (await get("?days=13&tz=Mars/Olympus", alice)).json()) as Stats;
    expect(odd).toMatchObject({ days: 14, timeZone: "UTC" });
    const tokyo = (await (await get("?days=90&tz=Asia/Tokyo", alice)).json()) as Stats;
    expect(tokyo).toMatchObject({ days: 90, timeZone: "Asia/Tokyo" });
    expect(tokyo.perDay).toHaveLength(90);
  });
});
