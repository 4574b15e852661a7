/**
 * The agent's browser end to end: real control plane, sandbox and OpenCode, the scripted model
 * calling `@playwright/mcp`'s tools (`playwright_<tool>`) on the runner's Chromium. The setup
 * script serves a page on localhost; the agent opens it, clicks its button, takes a screenshot;
 * a request to a non-local address is refused; with INSPECT_BROWSER=off the tools are not offered.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionEvent } from "../../protocol/events.js";
import { launchChromium } from "../support/chromium.js";
import { freePort } from "../support/ports.js";
import { hangStep, textStep, toolStep, type ModelStep } from "../support/model-server.js";
import {
  api,
  bareRepo,
  startHarness,
  waitForEvents,
  waitForNoProcesses,
  waitForStatus,
  type Harness,
} from "../support/sandbox-harness.js";
import { ofType } from "../support/wait.js";

const finished = (log: SessionEvent[]) => log.some((e) => e.type === "prompt.finished");
const done = (log: SessionEvent[], tool: string) =>
  ofType(log, "tool.call").filter((e) => e.data.tool === tool && ["completed", "error"].includes(e.data.status));
const offered = (h: Harness) =>
  (h.model.stepRequests[0]?.body.tools ?? []).map((t: { function: { name: string } }) => t.function.name) as string[];

const PAGE = `<!doctype html><title>Demo</title><button onclick="document.getElementById('out').textContent='clicked!'">Press me</button><p id="out">waiting</p>`;

describe.skipIf(!existsSync("/usr/bin/chromium"))("the agent's browser", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ idleTimeoutSeconds: 2, env: { INSPECT_BROWSER: "auto" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("opens a page the setup script serves on localhost, clicks, takes a screenshot; a non-local address is refused", async () => {
    const port = await freePort();
    const server = `require("http").createServer((q, s) => { s.setHeader("content-type", "text/html"); s.end(${JSON.stringify(PAGE)}); }).listen(${port}, "127.0.0.1");\n`;
    const repo = bareRepo(h.root, "webapp", {
      "README.md": "# webapp\n",
      "server.cjs": server,
      // The dev server outlives the script: it serves the agent for the whole session.
      ".inspect/setup.sh": "#!/bin/sh\nnohup node server.cjs >/dev/null 2>&1 &\nsleep 1\n",
    });
    const url = `http://127.0.0.1:${port}/`;
    const afterSnapshot = hangStep() as Extract<ModelStep, { kind: "hang" }>;
    h.model.reset([
      toolStep({ name: "playwright_browser_navigate", args: { url } }),
      toolStep({ name: "playwright_browser_snapshot", args: {} }),
      afterSnapshot,
    ]);
    const { id } = await api<{ id: string }>(h, "POST", "/api/sessions", { repo, prompt: "Check the button" });

    // The button's ref is in the page's snapshot.
    const log = await waitForEvents(h, id, (l) => done(l, "playwright_browser_snapshot").length > 0);
    expect(offered(h)).toEqual(expect.arrayContaining(["playwright_browser_navigate", "playwright_browser_click"]));
    const navigated = done(log, "playwright_browser_navigate")[0]!.data;
    expect(navigated.status, JSON.stringify(navigated)).toBe("completed");
    expect(navigated.output).toContain("Page Title: Demo");
    const snapshot = done(log, "playwright_browser_snapshot")[0]!.data.output ?? "";
    const ref = /button "Press me" \[ref=(\w+)\]/.exec(snapshot)?.[1];
    expect(ref, snapshot).toBeDefined();
    afterSnapshot.then = toolStep({
      name: "playwright_browser_click",
      args: { element: "Press me button", target: ref },
    });
    h.model.push(
      toolStep({ name: "playwright_browser_snapshot", args: {} }),
      // No file name: it goes to the browser's output folder, not into the checkout.
      toolStep({ name: "playwright_browser_take_screenshot", args: { scale: "css" } }),
      toolStep({ name: "playwright_browser_navigate", args: { url: "http://example.com/" } }),
      textStep("The button works."),
    );
    await h.model.waitForStepRequests(3); // the hanging one, so release() reaches it
    // The session page is open (in Chromium) while the agent works: the screenshot appears on it.
    const chromium = await launchChromium();
    const page = await chromium.newPage();
    await page.goto(`${h.url}/sessions/${id}`);
    h.model.release();
    const shown = page.locator("figure.artifact img");
    await shown.waitFor({ state: "visible", timeout: 60_000 });
    await expect
      .poll(() => shown.evaluate((img: HTMLImageElement) => img.naturalWidth), { timeout: 10_000 })
      .toBeGreaterThan(0);
    const visibleAt = Date.now();
    await chromium.close();

    const all = await waitForEvents(h, id, finished, 90_000);
    const clicked = done(all, "playwright_browser_click")[0]!.data;
    expect(clicked.status, JSON.stringify(clicked)).toBe("completed");
    expect(done(all, "playwright_browser_snapshot")[1]!.data.output).toContain("clicked!");
    const shot = done(all, "playwright_browser_take_screenshot")[0]!.data;
    expect(shot.status, JSON.stringify(shot)).toBe("completed");
    expect(shot.output).toMatch(/page-[\w-]+\.png/);

    // Stored as the session's artifact, in order with the steps, served with the session's access rule.
    const [added] = ofType(all, "artifact.added");
    expect(added!.data).toMatchObject({ contentType: "image/png", name: expect.stringMatching(/^page-.*\.png$/) });
    const file = await fetch(`${h.url}/api/sessions/${id}/artifacts/${added!.data.artifactId}`);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(
      Buffer.from(await file.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    const tookAt = new Date(done(all, "playwright_browser_take_screenshot")[0]!.ts).getTime();
    console.log(
      `screenshot taken → stored: ${new Date(added!.ts).getTime() - tookAt} ms; → visible on the open page: ${visibleAt - tookAt} ms`,
    );
    const outside = done(all, "playwright_browser_navigate")[1]!.data;
    expect(`${outside.output ?? ""}${outside.error ?? ""}`).toMatch(/not allowed|blocked|ERR_/i);

    await waitForStatus(h, id, ["completed"], 30_000);
    expect(await waitForNoProcesses(h.root, 20_000)).toEqual([]);
  }, 180_000);
});

describe("INSPECT_BROWSER=off", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ idleTimeoutSeconds: 1, env: { INSPECT_BROWSER: "off" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("offers no browser tools", async () => {
    const repo = bareRepo(h.root, "plain");
    h.model.reset([textStep("Nothing to see.")]);
    const { id } = await api<{ id: string }>(h, "POST", "/api/sessions", { repo, prompt: "Look" });
    await waitForEvents(h, id, finished, 60_000);
    expect(offered(h).length).toBeGreaterThan(0);
    expect(offered(h).filter((t) => t.startsWith("playwright_"))).toEqual([]);
    expect(offered(h)).toContain("inspect_spawn_session");
    await waitForStatus(h, id, ["completed"], 30_000);
  }, 120_000);
});
