/**
 * The pages people keep open, in a real Chromium against the real app and room server
 * (GitHub faked at the HTTP boundary): each file's diff collapsible with the turn's summary
 * and commit links, a notification when the session needs them (permission granted in the
 * browser context), Ctrl+Enter, dictation, keyboard use, dark mode, a 390 px phone — and
 * axe-core on the session, list, new-session and stats pages with no serious or critical
 * violation. Screenshots go to test-results/ (desktop, phone, dark).
 */
import { AxeBuilder } from "@axe-core/playwright";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEvent } from "../../protocol/events.js";
import { launchChromium } from "../support/chromium.js";
import { startWebStack, type WebStack } from "../support/web-stack.js";

const SID = "sessDaily1";
const SHA = "0123456789abcdef0123456789abcdef01234567";
const SHOTS = "test-results";

let stack: WebStack;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** Alice, signed in, on `route`; `setup` runs in the page before its own scripts. */
async function alice(
  route: string,
  opts: { viewport?: { width: number; height: number }; dark?: boolean; permissions?: string[] } = {},
  setup?: () => void,
): Promise<Page> {
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1100, height: 900 },
    colorScheme: opts.dark ? "dark" : "light",
  });
  contexts.push(context);
  if (opts.permissions) await context.grantPermissions(opts.permissions, { origin: stack.url });
  if (setup) await context.addInitScript(setup);
  await context.addCookies([{ name: "gh_user", value: "alice", url: stack.github.url }]);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  await page.goto(`${stack.url}${route}`);
  expect(new URL(page.url()).pathname).toBe(route);
  return page;
}

/** Every violation axe-core found, by page, kept in test-results/axe.json for a look at the minor ones. */
const axeLog: Record<string, string[]> = {};

async function seriousViolations(page: Page, name = new URL(page.url()).pathname): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  axeLog[name] = result.violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

const turn: NewEvent[] = [
  { type: "prompt.started", data: { promptId: 0 } },
  {
    type: "file.edited",
    data: {
      path: "src/math.js",
      change: "modified",
      additions: 1,
      deletions: 1,
      diff: "--- a/src/math.js\n+++ b/src/math.js\n@@ -1,2 +1,2 @@\n export const add = (a, b) => a + b;\n-export const sub = (a, b) => a - b;\n+export const mul = (a, b) => a * b;",
    },
  },
  {
    type: "file.edited",
    data: {
      path: "data/rows.csv",
      change: "added",
      additions: 2000,
      deletions: 0,
      moreLines: 1603,
      diff: ["--- /dev/null", "+++ b/data/rows.csv", "@@ -0,0 +1,2000 @@", "+row 0", "+row 1"].join("\n"),
    },
  },
  { type: "file.edited", data: { path: "logo.png", change: "added", additions: 0, deletions: 0, binary: true } },
  {
    type: "files.changed",
    data: {
      files: [
        { path: "data/rows.csv", change: "added", additions: 2000, deletions: 0 },
        { path: "logo.png", change: "added", additions: 0, deletions: 0, binary: true },
        { path: "src/math.js", change: "modified", additions: 1, deletions: 1 },
      ],
    },
  },
  {
    type: "git.commit",
    data: { sha: SHA, message: "Multiply", author: { name: "Alice Liddell", email: "alice@example.com" }, files: 3 },
  },
];

beforeAll(async () => {
  stack = await startWebStack({ alice: { "acme/widgets": { pull: true, push: true } } });
  await stack.createSession(SID, "Multiply instead of subtract");
  const { upsertUser } = await import("../../app/db/accounts.js");
  const user = await upsertUser(stack.inspect.database.db, { login: "alice", githubId: 1005 });
  const queued = await stack.inspect.sessions.queue(SID, { author: user, text: "Multiply", source: "web" });
  await stack.append(
    SID,
    turn.map((e) => (e.type === "prompt.started" ? { ...e, data: { promptId: queued.id } } : e)),
  );
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  writeFileSync(path.join(SHOTS, "axe.json"), `${JSON.stringify(axeLog, null, 2)}\n`);
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await stack?.close();
});

describe("a page people keep open", () => {
  it("shows each file's diff collapsed, the turn's summary, and links to the commit on GitHub", async () => {
    const page = await alice(`/sessions/${SID}`);
    const files = page.locator("#timeline details.file");
    await expect.poll(() => files.count()).toBe(3);
    const math = page.locator('details.file[data-file="src/math.js"]');
    expect(await math.evaluate((d: HTMLDetailsElement) => d.open)).toBe(false);
    expect(await math.locator("summary").textContent()).toContain("src/math.js");
    await math.locator("summary").click();
    expect(await math.evaluate((d: HTMLDetailsElement) => d.open)).toBe(true);
    expect(await math.locator(".diff .add").textContent()).toBe("+export const mul = (a, b) => a * b;");
    expect(await math.locator(".diff .del").textContent()).toBe("-export const sub = (a, b) => a - b;");
    await math.locator("summary").click();
    expect(await math.evaluate((d: HTMLDetailsElement) => d.open)).toBe(false);

    const commitUrl = `${stack.github.url}/acme/widgets/commit/${SHA}`;
    const rows = page.locator('details.file[data-file="data/rows.csv"]');
    expect(await rows.locator(".more").textContent()).toBe("1,603 more lines not shown. See the full diff on GitHub");
    expect(await rows.locator(".more a").getAttribute("href")).toBe(commitUrl);
    expect(await page.locator('details.file[data-file="logo.png"]').textContent()).toContain("Binary file, not shown");

    const summary = page.locator("section.changes");
    expect(await summary.locator("b").textContent()).toBe("3 files changed");
    expect(await summary.locator(".files li").allTextContents()).toEqual([
      "data/rows.csv+2000 added, −0 removed",
      "logo.pngbinary",
      "src/math.js+1 added, −1 removed",
    ]);
    expect(await summary.locator(".commit-link a").getAttribute("href")).toBe(commitUrl);
    // The summary's file name opens that file's diff.
    await summary.locator("a", { hasText: "src/math.js" }).click();
    expect(await math.evaluate((d: HTMLDetailsElement) => d.open)).toBe(true);
    expect(await page.locator("#timeline .event.commit").textContent()).toBe(
      "Committed 0123456 Multiply (3 files, as Alice Liddell) · on GitHub",
    );
    await page.screenshot({ path: path.join(SHOTS, "daily-desktop.png"), fullPage: true });
  });

  it("works by keyboard alone: skip link, diffs open with Enter, Ctrl+Enter queues the prompt", async () => {
    const page = await alice(`/sessions/${SID}`);
    await expect.poll(() => page.locator("#timeline details.file").count()).toBe(3);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    // Tab on to the first file's summary and open it.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(() => document.activeElement?.closest("details.file") !== null)) break;
    }
    await page.keyboard.press("Enter");
    expect(
      await page
        .locator("details.file")
        .first()
        .evaluate((d: HTMLDetailsElement) => d.open),
    ).toBe(true);

    await page.locator("#prompt-text").focus();
    await page.keyboard.type("Now add division");
    await page.keyboard.press("Control+Enter");
    await expect.poll(() => page.locator("#timeline article.prompt", { hasText: "Now add division" }).count()).toBe(1);
    expect(await page.inputValue("#prompt-text")).toBe("");
  });

  it("asks for notification permission on request and notifies when the session needs them", async () => {
    const page = await alice(`/sessions/${SID}`, { permissions: ["notifications"] }, () => {
      // Record what the page shows, and act as a tab in the background.
      const shown: string[] = [];
      (window as unknown as { shown: string[] }).shown = shown;
      const Real = window.Notification;
      const asked: string[] = [];
      (window as unknown as { asked: string[] }).asked = asked;
      class Recorded extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          shown.push(`${title} | ${options?.body ?? ""}`);
        }
        static override requestPermission() {
          asked.push("asked");
          return Real.requestPermission();
        }
        static override get permission() {
          return Real.permission;
        }
      }
      window.Notification = Recorded as unknown as typeof Notification;
      document.hasFocus = () => false;
    });
    await expect.poll(() => page.locator("#timeline details.file").count()).toBe(3);
    // History is not news: the finished turn replayed on load notifies nobody.
    expect(await page.evaluate(() => (window as unknown as { shown: string[] }).shown)).toEqual([]);
    await page.click("#notify");
    await expect.poll(() => page.locator("#notify").textContent()).toBe("Notifications on");
    expect(await page.getAttribute("#notify", "aria-pressed")).toBe("true");
    expect(await page.evaluate(() => (window as unknown as { asked: string[] }).asked)).toEqual(["asked"]);

    const { listPrompts } = await import("../../app/db/prompts.js");
    const prompt = (await listPrompts(stack.inspect.database.db, SID))[0]!;
    await stack.append(SID, [{ type: "prompt.finished", data: { promptId: prompt.id, status: "done", commits: [] } }]);
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { shown: string[] }).shown))
      .toEqual(["Inspect finished — your turn | Multiply instead of subtract · Inspect"]);
  });

  it("dictates into the prompt box where the browser can listen", async () => {
    const page = await alice(`/sessions/${SID}`, {}, () => {
      // A stand-in recogniser: Chromium's own needs Google's servers and a microphone.
      class FakeRecognition {
        onresult: ((ev: unknown) => void) | null = null;
        onend: (() => void) | null = null;
        onerror: (() => void) | null = null;
        start() {
          setTimeout(() => {
            this.onresult?.({ results: [[{ transcript: "add a" }], [{ transcript: " divide function" }]] });
            this.onend?.();
          }, 50);
        }
        stop() {
          this.onend?.();
        }
      }
      const w = window as unknown as { SpeechRecognition: unknown; webkitSpeechRecognition: unknown };
      w.SpeechRecognition = w.webkitSpeechRecognition = FakeRecognition;
    });
    await page.fill("#prompt-text", "Please");
    await page.click("#voice");
    await expect.poll(() => page.inputValue("#prompt-text")).toBe("Please add a divide function");
    expect(await page.getAttribute("#voice", "aria-pressed")).toBe("false");
  });

  it("fits a 390 px phone and follows the system's dark mode", async () => {
    const phone = await alice(`/sessions/${SID}`, { viewport: { width: 390, height: 844 } });
    await expect.poll(() => phone.locator("#timeline details.file").count()).toBe(3);
    await phone.locator('details.file[data-file="src/math.js"] summary').click();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: path.join(SHOTS, "daily-phone.png"), fullPage: true });

    const dark = await alice(`/sessions/${SID}`, { dark: true });
    await expect.poll(() => dark.locator("#timeline details.file").count()).toBe(3);
    await dark.locator('details.file[data-file="src/math.js"] summary').click();
    expect(await dark.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(13, 17, 23)");
    await dark.screenshot({ path: path.join(SHOTS, "daily-dark.png"), fullPage: true });
    expect(await seriousViolations(dark, "session page, dark")).toEqual([]);
  });

  it("passes axe-core with no serious or critical violations on every page, and fits a phone", async () => {
    const results: Record<string, string[]> = {};
    for (const route of [`/sessions/${SID}`, "/", "/sessions/new", "/stats"]) {
      const page = await alice(route);
      if (route === `/sessions/${SID}`) {
        await expect.poll(() => page.locator("#timeline details.file").count()).toBe(3);
        await page.locator("details.file").first().locator("summary").click();
      }
      results[route] = await seriousViolations(page);
      // And on a phone: nothing runs off the side.
      const phone = await alice(route, { viewport: { width: 390, height: 844 } });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth), route).toBeLessThanOrEqual(390);
    }
    expect(results).toEqual({ [`/sessions/${SID}`]: [], "/": [], "/sessions/new": [], "/stats": [] });
  });
});
