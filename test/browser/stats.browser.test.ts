/**
 * The stats page and the session page's cost in real Chromium, over a seeded history
 * (test/support/stats-history.ts): the numbers, the chart and its values as text, sorting the
 * tables by their headers, the repository filter, the browser's time zone adopted; and a
 * session page showing each prompt's cost and the session total, live.
 */
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.js";
import { seedStatsHistory } from "../support/stats-history.js";
import { startWebStack, type WebStack } from "../support/web-stack.js";

let stack: WebStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  stack = await startWebStack({ alice: { "acme/widgets": { pull: true, push: true } } }, { withRooms: false });
  await seedStatsHistory(stack);
  browser = await launchChromium();
  // A viewer in Berlin: the page takes the browser's time zone for its days.
  context = await browser.newContext({ timezoneId: "Europe/Berlin" });
  await context.addCookies([{ name: "gh_user", value: "alice", url: stack.github.url }]);
  page = await context.newPage();
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.close();
});

const figure = (id: string) => page.locator(`#stat-${id} b`).textContent();
const names = (table: string) => page.locator(`#${table} tbody th`).allTextContents();

describe("the stats page", () => {
  it("shows the figures over readable repositories, in the browser's time zone, with a chart and its values", async () => {
    await page.goto(`${stack.url}/stats?days=7`);
    await page.waitForURL(/tz=Europe%2FBerlin/);
    expect(await page.locator("#stats-window").textContent()).toContain("(Europe/Berlin)");
    expect(await figure("sessions")).toBe("3");
    expect(await figure("prompts")).toBe("4");
    expect(await figure("prs-opened")).toBe("3");
    expect(await figure("prs-merged")).toBe("1");
    expect(await figure("prs-closed")).toBe("1");
    expect(await figure("merge-rate")).toBe("33%");
    expect(await figure("median-merge")).toBe("2.8 h");
    // One prompt ran on an unpriced model: the total is a floor, said so, never a bare $0.
    expect(await figure("cost")).toBe("$1.75 + unknown");
    expect(await figure("cost-per-pr")).toBe("$1.75 + unknown");

    const chart = page.locator("svg#daily-chart");
    expect(await chart.getAttribute("role")).toBe("img");
    expect(await page.locator("#daily-chart-title").textContent()).toBe(
      "Sessions, merged pull requests and cost per day",
    );
    expect(await chart.locator("rect.bar").count()).toBe(7);
    expect(await chart.locator("polyline.cost-line").count()).toBe(1);
    // The values as text, one row a day.
    expect(await page.locator("#daily-values tbody tr").count()).toBe(7);
    await page.locator("summary", { hasText: "Values per day" }).click();
    expect(await page.locator("#daily-values").isVisible()).toBe(true);
    expect(await page.locator("body").textContent()).not.toContain("acme/secret");
  });

  it("sorts the people table by a column header, and back", async () => {
    await page.goto(`${stack.url}/stats?days=7&tz=UTC`);
    // Default: most merged PRs first (alice's session was merged).
    expect(await names("people-table")).toEqual(["alice", "bob"]);
    await page.locator('#people-table a[data-sort="cost"]').click();
    await page.waitForURL(/people=cost-desc/);
    expect(await names("people-table")).toEqual(["bob", "alice"]); // $1.00 (+ unknown) over $0.75
    expect(await page.locator("#people-table th[aria-sort]").getAttribute("aria-sort")).toBe("descending");
    await page.locator('#people-table a[data-sort="cost"]').click();
    await page.waitForURL(/people=cost-asc/);
    expect(await names("people-table")).toEqual(["alice", "bob"]);
    await page.locator('#people-table a[data-sort="name"]').click();
    await page.waitForURL(/people=name-asc/);
    expect(await names("people-table")).toEqual(["alice", "bob"]);
    expect(await page.locator("#people-table tbody tr").first().locator("td").last().textContent()).toBe("$0.75");
  });

  it("filters to a repository the viewer can read, and offers no other", async () => {
    await page.goto(`${stack.url}/stats?tz=UTC`);
    expect(await page.locator("#stats-repo option").allTextContents()).toEqual(["All you can read", "acme/widgets"]);
    await page.selectOption("#stats-repo", "acme/widgets");
    await page.selectOption("#stats-days", "30");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/repo=acme%2Fwidgets/);
    expect(page.url()).toContain("days=30");
    expect(await page.locator("#stats-window").textContent()).toContain("acme/widgets");
    expect(await names("repos-table")).toEqual(["acme/widgets"]);
    const hidden = await page.goto(`${stack.url}/stats?repo=acme/secret&tz=UTC`);
    expect(hidden?.status()).toBe(404);
  });

  it("with figures, chart and tables, passes axe-core (light and dark) and fits a phone", async () => {
    for (const colorScheme of ["light", "dark"] as const) {
      const ctx = await browser.newContext({ colorScheme, viewport: { width: 390, height: 844 }, timezoneId: "UTC" });
      await ctx.addCookies([{ name: "gh_user", value: "alice", url: stack.github.url }]);
      const p = await ctx.newPage();
      await p.goto(`${stack.url}/stats?days=30&tz=UTC`);
      await p.locator("summary", { hasText: "Values per day" }).click();
      const result = await new AxeBuilder({ page: p }).analyze();
      const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await ctx.close();
    }
  });
});

describe("the session page", () => {
  it("shows each prompt's cost and tokens and the session total, live", async () => {
    await stack.createSession("sessCost01", "Costs");
    const author = { login: "alice" };
    await stack.append("sessCost01", [
      { type: "prompt.queued", data: { promptId: 901, text: "first", author, source: "web" } },
      { type: "prompt.started", data: { promptId: 901 } },
      {
        type: "prompt.finished",
        data: {
          promptId: 901,
          status: "done",
          commits: [],
          usage: { inputTokens: 1200, outputTokens: 300, cost: 0.5, model: "acme/big" },
        },
      },
    ]);
    await page.goto(`${stack.url}/sessions/sessCost01`);
    await expect.poll(() => page.locator("#prompt-901 .usage").textContent()).toBe("$0.50 · 1.5k tokens");
    expect(await page.locator("#session-usage").textContent()).toBe("Session total: $0.50 · 1.5k tokens");
    await stack.append("sessCost01", [
      { type: "prompt.queued", data: { promptId: 902, text: "second", author, source: "web" } },
      { type: "prompt.started", data: { promptId: 902 } },
      { type: "prompt.usage", data: { promptId: 902, usage: { inputTokens: 100, outputTokens: 0, cost: 0.25 } } },
    ]);
    // While it runs, the cost climbs after every model call.
    await expect
      .poll(() => page.locator("#prompt-902 .usage").textContent(), { timeout: 10_000 })
      .toBe("$0.25 · 100 tokens so far");
    expect(await page.locator("#session-usage").textContent()).toBe("Session total: $0.75 · 1.6k tokens");
    await stack.append("sessCost01", [
      {
        type: "prompt.finished",
        data: { promptId: 902, status: "done", commits: [], usage: { inputTokens: 500, outputTokens: 0 } },
      },
    ]);
    await expect
      .poll(() => page.locator("#session-usage").textContent(), { timeout: 10_000 })
      .toBe("Session total: $0.50 + unknown · 2.0k tokens");
    expect(await page.locator("#prompt-902 .usage").textContent()).toBe("unknown · 500 tokens");
  });
});
