/**
 * With the room server unreachable, the session page still shows everything: it
 * backfills from GET /api/sessions/:id/events and keeps polling (the database is the
 * durable log). Real Chromium, app and database; no room server at all.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.js";
import { startWebStack, type WebStack } from "../support/web-stack.js";

let stack: WebStack;
let browser: Browser;

beforeAll(async () => {
  stack = await startWebStack({ alice: { "acme/widgets": { pull: true, push: true } } }, { withRooms: false });
  await stack.createSession("sessNoRoom", "Works without the room");
  await stack.append("sessNoRoom", [
    { type: "agent.text", data: { partId: "a", text: "stored while the room is down" } },
  ]);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

it("shows stored events and new ones by polling the API when the room is unreachable", async () => {
  const context = await browser.newContext();
  await context.addCookies([{ name: "gh_user", value: "alice", url: stack.github.url }]);
  const page = await context.newPage();
  await page.goto(`${stack.url}/sessions/sessNoRoom`);
  await expect.poll(() => page.locator('[data-part="a"]').textContent()).toBe("stored while the room is down");
  await stack.append("sessNoRoom", [
    { type: "tool.call", data: { callId: "x", tool: "bash", status: "completed", title: "ls" } },
  ]);
  await expect.poll(() => page.locator('[data-call="x"] .badge').textContent(), { timeout: 10_000 }).toBe("completed");
  expect(await page.locator("#live").textContent()).not.toBe("live");
  await context.close();
});
