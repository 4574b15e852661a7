/**
 * The live session page in a real Chromium, against the real app, room server and
 * database (GitHub faked at the HTTP boundary). Two people watch one session: events
 * appear as the control plane appends them, a follow-up queued by one shows up for
 * the other at once, Stop stops it for both. Saves a screenshot (docs/session-page.png with
 * INSPECT_UPDATE_SCREENSHOTS=1).
 */
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.js";
import { startWebStack, type WebStack } from "../support/web-stack.js";

const SID = "sessLive01";

let stack: WebStack;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** A signed-in browser context: the fake GitHub signs in whoever its `gh_user` cookie names. */
async function personFor(login: string, viewport = { width: 1100, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  await context.addCookies([{ name: "gh_user", value: login, url: stack.github.url }]);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`[${login}] page error:`, err));
  await page.goto(`${stack.url}/sessions/${SID}`); // → sign-in → GitHub → back here
  expect(new URL(page.url()).pathname).toBe(`/sessions/${SID}`);
  return page;
}

beforeAll(async () => {
  stack = await startWebStack({
    alice: { "acme/widgets": { pull: true, push: true } },
    bob: { "acme/widgets": { pull: true, push: true } },
  });
  await stack.createSession(SID, "Make the widget list sortable");
  const queued = await stack.inspect.sessions.queue(SID, {
    author: (await upsertAlice())!,
    text: "Make the widget list sortable by name and date",
    source: "github_comment",
  });
  await stack.append(SID, [
    { type: "prompt.started", data: { promptId: queued.id } },
    { type: "setup.output", data: { stream: "stdout", text: "npm ci\nadded 212 packages in 3s\n" } },
    { type: "setup.finished", data: { exitCode: 0, timedOut: false, durationMs: 3200 } },
  ]);
  browser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await stack?.close();
});

async function upsertAlice() {
  const { upsertUser } = await import("../../app/db/accounts.js");
  return upsertUser(stack.inspect.database.db, {
    login: "alice",
    githubId: 1005,
    avatarUrl: `${stack.github.url}/avatars/alice.svg`,
  });
}

describe("live session page", () => {
  it("shows the backlog, then events as they are appended, to two viewers at once; follow-up and Stop work", async () => {
    const alice = await personFor("alice");
    const timeline = alice.locator("#timeline");
    await expect.poll(() => timeline.locator("article.prompt").count()).toBe(1);
    await expect.poll(() => alice.locator("#live").textContent()).toBe("live");
    expect(await timeline.locator("article.prompt img.avatar").getAttribute("src")).toContain("/avatars/alice.svg");
    expect(await timeline.textContent()).toContain("added 212 packages");

    // The control plane appends; the page shows each event as it arrives.
    await stack.append(SID, [
      { type: "agent.text.delta", data: { partId: "t1", delta: "Looking at the widget " } },
      { type: "agent.text.delta", data: { partId: "t1", delta: "list component…" } },
      {
        type: "tool.call",
        data: { callId: "c1", tool: "bash", status: "running", title: "npm test", input: "npm test" },
      },
    ]);
    await expect
      .poll(() => timeline.locator('[data-part="t1"]').textContent())
      .toBe("Looking at the widget list component…");
    await expect.poll(() => timeline.locator('[data-call="c1"] .badge').textContent()).toBe("running");
    await stack.append(SID, [
      {
        type: "tool.call",
        data: {
          callId: "c1",
          tool: "bash",
          status: "completed",
          title: "npm test",
          input: "npm test",
          output: "42 passing",
        },
      },
      {
        type: "file.edited",
        data: {
          path: "src/widgets/list.tsx",
          change: "modified",
          additions: 2,
          deletions: 1,
          diff: "--- a/src/widgets/list.tsx\n+++ b/src/widgets/list.tsx\n@@ -1,3 +1,4 @@\n import { sortBy } from './sort';\n-const rows = widgets;\n+const rows = sortBy(widgets, key);\n+// sortable by name and date",
        },
      },
      {
        type: "file.edited",
        data: {
          path: "src/widgets/sort.ts",
          change: "added",
          additions: 1,
          deletions: 0,
          diff: "--- /dev/null\n+++ b/src/widgets/sort.ts\n@@ -0,0 +1,1 @@\n+export const sortBy = (rows, key) => [...rows].sort((a, b) => String(a[key]).localeCompare(String(b[key])));",
        },
      },
      {
        type: "files.changed",
        data: {
          files: [
            { path: "src/widgets/list.tsx", change: "modified", additions: 2, deletions: 1 },
            { path: "src/widgets/sort.ts", change: "added", additions: 1, deletions: 0 },
          ],
        },
      },
      { type: "agent.text", data: { partId: "t2", text: "Added sorting by name and date; tests pass." } },
      {
        type: "git.commit",
        data: {
          sha: "a1b2c3d4e5f6",
          message: "Sort the widget list",
          author: { name: "Alice", email: "alice@example.com" },
          files: 2,
        },
      },
    ]);
    await expect.poll(() => timeline.locator('[data-call="c1"] .badge').textContent()).toBe("completed");
    expect(await timeline.locator('[data-call="c1"]').count()).toBe(1); // updated in place
    await expect.poll(() => timeline.locator(".diff .add").count()).toBe(3);
    await timeline.locator('details.file[data-file="src/widgets/list.tsx"] summary').click();
    await expect.poll(() => timeline.textContent()).toContain("Committed a1b2c3d Sort the widget list");

    // Someone pushed to the branch during the turn: the push says the work was rebased onto theirs.
    await stack.append(SID, [
      {
        type: "git.push",
        data: {
          branch: "inspect/12-sort",
          sha: "f00dfeed1234",
          synced: { how: "rebased", onto: "beefcafe9876", theirs: 2 },
        },
      },
    ]);
    await expect
      .poll(() => timeline.textContent())
      .toContain("Pushed inspect/12-sort at f00dfee (2 commits pushed meanwhile by others; rebased onto beefcaf)");

    // A second person joins: same history, and both see who is watching.
    const bob = await personFor("bob", { width: 390, height: 800 });
    await expect.poll(() => bob.locator('#timeline [data-call="c1"] .badge').textContent()).toBe("completed");
    await expect
      .poll(() =>
        alice.locator("#presence .avatar").evaluateAll((els) => els.map((e) => e.getAttribute("title")).join()),
      )
      .toBe("alice,bob");
    await expect.poll(() => bob.locator("#presence .avatar").count()).toBe(2);

    // Alice queues a follow-up: Bob sees it at once, attributed to her, in the queue.
    await alice.fill("#prompt-text", "Also add a descending toggle");
    await alice.click("#send");
    const bobsCard = bob.locator("#timeline article.prompt", { hasText: "Also add a descending toggle" });
    await expect.poll(() => bobsCard.count()).toBe(1);
    expect(await bobsCard.locator("b").textContent()).toBe("alice");
    await expect.poll(() => bob.locator("#queue li").count()).toBe(1);
    expect(await bob.locator("#queue li button").count()).toBe(0); // only its author may cancel
    expect(await alice.locator("#queue li button", { hasText: "Cancel" }).count()).toBe(1);
    expect(await alice.inputValue("#prompt-text")).toBe("");

    // A second follow-up, cancelled by its author: gone from everyone's queue.
    await alice.fill("#prompt-text", "Never mind this one");
    await alice.click("#send");
    await expect.poll(() => bob.locator("#queue li").count()).toBe(2);
    await alice.locator("#queue li", { hasText: "Never mind this one" }).locator("button").click();
    await expect.poll(() => bob.locator("#queue li").count()).toBe(1);
    expect(
      await bob.locator("#timeline article.prompt", { hasText: "Never mind this one" }).locator(".badge").textContent(),
    ).toBe("cancelled");

    // Bob is on a phone-sized screen: nothing overflows sideways.
    expect(await bob.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await stack.append(SID, [
      { type: "pr.opened", data: { number: 12, url: "https://github.example/acme/widgets/pull/12", draft: true } },
    ]);
    await expect.poll(() => bob.locator("#pr a").textContent()).toBe("PR #12");

    // Into test-results/ (ignored); the README's picture is refreshed only on request, so a test run leaves the tree clean.
    const shot = process.env.INSPECT_UPDATE_SCREENSHOTS
      ? path.join("docs", "session-page.png")
      : path.join("test-results", "session-page.png");
    mkdirSync(path.dirname(shot), { recursive: true });
    await alice.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // Stop: the session stops for everyone; the queued follow-up is cancelled.
    await alice.click("#stop");
    await expect.poll(() => bob.locator("#status").textContent()).toBe("stopped");
    await expect.poll(() => alice.locator("#status").textContent()).toBe("stopped");
    await expect.poll(() => bob.locator("#queue li").count()).toBe(0);
    expect((await stack.inspect.sessions.get(SID))!.status).toBe("stopped");
    expect(await alice.locator("#stop").isDisabled()).toBe(true);
  });

  it("sends one warm-up request after the first keystrokes of a new session", async () => {
    const alice = await personFor("alice");
    await alice.goto(`${stack.url}/sessions/new`);
    const warmups: string[] = [];
    alice.on("request", (r) => {
      if (r.url().endsWith("/api/warmup")) warmups.push(r.postData() ?? "");
    });
    await alice.fill("#repo", "acme/widgets");
    const first = alice.waitForResponse((r) => r.url().endsWith("/api/warmup"));
    await alice.locator("#prompt").pressSequentially("Add a dark mode");
    expect((await first).status()).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(warmups).toEqual([JSON.stringify({ repo: "acme/widgets" })]);
  });

  it("fills a gap from the session API when the room missed an event", async () => {
    const { insertEvents } = await import("../../app/db/events.js");
    await stack.createSession("sessGap001", "Gap");
    await stack.append("sessGap001", [{ type: "agent.text", data: { partId: "g1", text: "first" } }]);
    const alice = await personFor("alice");
    await alice.goto(`${stack.url}/sessions/sessGap001`);
    await expect.poll(() => alice.locator('[data-part="g1"]').textContent()).toBe("first");
    // Stored but never forwarded (as if the room was down for that append)…
    await insertEvents(stack.inspect.database.db, "sessGap001", [
      { type: "agent.text", data: { partId: "g2", text: "missed by the room" } },
    ]);
    // …then the next event reaches the room: the page notices seq 3 after 1 and asks the API for 2.
    await stack.append("sessGap001", [{ type: "agent.text", data: { partId: "g3", text: "third" } }]);
    await expect
      .poll(() => alice.locator(".assistant").evaluateAll((els) => els.map((e) => e.textContent).join("|")))
      .toBe("first|missed by the room|third");
  });

  it("shows an event the room missed at the end of a stream, without waiting for another one", async () => {
    const { insertEvents } = await import("../../app/db/events.js");
    await stack.createSession("sessTail01", "Tail");
    await stack.append("sessTail01", [{ type: "agent.text", data: { partId: "t1", text: "first" } }]);
    const alice = await personFor("alice");
    await alice.goto(`${stack.url}/sessions/sessTail01`);
    await expect.poll(() => alice.locator('[data-part="t1"]').textContent()).toBe("first");
    // The last event of the turn is stored but never reaches the room, and nothing follows it.
    await insertEvents(stack.inspect.database.db, "sessTail01", [
      { type: "agent.text", data: { partId: "t2", text: "the last word" } },
    ]);
    await expect.poll(() => alice.locator('[data-part="t2"]').textContent(), { timeout: 15_000 }).toBe("the last word");
  });
});
