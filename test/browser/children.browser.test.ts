/**
 * Child sessions on the session page, in a real Chromium against the real app and room server:
 * the parent's page lists its children as `child.updated` events arrive (status changing in
 * place, the PR once opened), each row links to the child, and the child's page links back.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEvent } from "../../protocol/events.js";
import { launchChromium } from "../support/chromium.js";
import { startWebStack, type WebStack } from "../support/web-stack.js";

const PARENT = "sessParent1";
const CHILD = "sessChild01";

let stack: WebStack;
let browser: Browser;
let context: BrowserContext;

const childUpdate = (status: "queued" | "running" | "idle", pr: number | null): NewEvent => ({
  type: "child.updated",
  data: {
    sessionId: CHILD,
    title: "Add a changelog entry",
    repository: "acme/widgets",
    status,
    prNumber: pr,
    prUrl: pr ? `https://gh.example/acme/widgets/pull/${pr}` : null,
  },
});

beforeAll(async () => {
  stack = await startWebStack({ alice: { "acme/widgets": { pull: true, push: true } } });
  await stack.createSession(PARENT, "Split the work");
  await stack.createSession(CHILD, "Add a changelog entry", "alice", { parentSessionId: PARENT });
  browser = await launchChromium();
  context = await browser.newContext();
  await context.addCookies([{ name: "gh_user", value: "alice", url: stack.github.url }]);
});

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close();
  await stack?.close();
});

async function open(route: string): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  await page.goto(`${stack.url}${route}`);
  return page;
}

describe("child sessions on the page", () => {
  it("lists the parent's children live, with status and PR, linking both ways", async () => {
    const page = await open(`/sessions/${PARENT}`);
    expect(await page.locator("#children-box").isHidden()).toBe(true);
    await stack.append(PARENT, [childUpdate("queued", null)]);
    const row = page.locator(`#children li[data-child="${CHILD}"]`);
    await expect.poll(() => row.locator(".badge").textContent()).toBe("queued");
    expect(await row.locator(`a[href="/sessions/${CHILD}"]`).textContent()).toBe("Add a changelog entry");

    await stack.append(PARENT, [childUpdate("running", null)]);
    await expect.poll(() => row.locator(".badge").textContent()).toBe("running");
    await stack.append(PARENT, [childUpdate("idle", 12)]);
    await expect.poll(() => row.locator(".badge").textContent()).toBe("idle");
    expect(await row.locator('a[href="https://gh.example/acme/widgets/pull/12"]').textContent()).toBe("PR #12");
    expect(await page.locator("#children li").count()).toBe(1);

    await row.locator(`a[href="/sessions/${CHILD}"]`).click();
    await page.waitForURL(`**/sessions/${CHILD}`);
    const back = page.locator(`#parent a[href="/sessions/${PARENT}"]`);
    expect(await back.textContent()).toBe(`session ${PARENT}`);
  });
});
