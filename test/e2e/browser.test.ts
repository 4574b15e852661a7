/**
 * The agent's browser end to end: real control plane, sandbox and OpenCode, the scripted model
 * calling `@playwright/mcp`'s tools (`playwright_<tool>`) on the runner's Chromium.
 *
 * - In the jail, as production runs it: GitHub App mode on a fake GitHub Enterprise host, so the
 *   local runner puts the session's code — OpenCode, the browser, the dev server — in bubblewrap
 *   as the sandbox user; INSPECT_BROWSER left at its default. The repository's
 *   `.inspect/config.yml` names a dev server: started before the first turn, its URL told to the
 *   agent, which opens it, clicks, takes a screenshot (an artifact, linked from the PR) and is
 *   refused a non-local address. A dev server that fails is reported; the turn still runs.
 *   Needs root, bubblewrap and the sandbox user: skipped without them, except in CI (`CI=true`,
 *   set by .ci/run, which makes them), where their absence fails the test with the reason.
 * - Local mode (no jail), the session page open in Chromium: the screenshot appears on it.
 * - INSPECT_BROWSER=off: no browser tools.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getArtifact } from "../../app/artifacts/store.js";
import { openDatabase, type Database } from "../../app/db/client.js";
import { listSessions } from "../../app/db/sessions.js";
import type { Inspect } from "../../app/server.js";
import type { SessionEvent } from "../../protocol/events.js";
import { detectBoundary } from "../../sandbox/jail/boundary.js";
import { launchChromium } from "../support/chromium.js";
import { fakeGheEnv, startFakeGhe, type FakeGhe } from "../support/fake-ghe.js";
import { deliver, testInspect } from "../support/inspect.js";
import { freePort } from "../support/ports.js";
import {
  hangStep,
  startModelServer,
  textStep,
  toolStep,
  type ModelServer,
  type ModelStep,
} from "../support/model-server.js";
import { issueComment } from "../support/payloads.js";
import {
  api,
  bareRepo,
  git,
  startHarness,
  waitForEvents,
  waitForNoProcesses,
  waitForStatus,
  type Harness,
} from "../support/sandbox-harness.js";
import { ofType, until } from "../support/wait.js";

const finished = (log: SessionEvent[]) => log.some((e) => e.type === "prompt.finished");
const done = (log: SessionEvent[], tool: string) =>
  ofType(log, "tool.call").filter((e) => e.data.tool === tool && ["completed", "error"].includes(e.data.status));
const offeredBy = (model: ModelServer) =>
  (model.stepRequests[0]?.body.tools ?? []).map((t: { function: { name: string } }) => t.function.name) as string[];
const offered = (h: Harness) => offeredBy(h.model);
/** The system prompt of the latest model call (the agent's instructions). */
const instructions = (model: ModelServer) =>
  JSON.stringify(model.stepRequests.at(-1)?.body.messages?.filter((m: { role: string }) => m.role === "system") ?? []);

const PAGE = `<!doctype html><title>Demo</title><button onclick="document.getElementById('out').textContent='clicked!'">Press me</button><p id="out">waiting</p>`;

const boundary = detectBoundary("inspect-sandbox");
/** .ci/run sets CI=true and makes bubblewrap and the sandbox user: a missing boundary there is a failure. */
const inCI = process.env.CI === "true";
/** The agent's browser drives Debian's Chromium (sandbox/mcp/browser.ts): without it there is none to test. */
const haveChromium = existsSync("/usr/bin/chromium");

/** A page server on `port`, as the repository's dev server (node, no dependencies). */
const devServerJs = (port: number) =>
  `require("http").createServer((q, s) => { s.setHeader("content-type", "text/html"); s.end(${JSON.stringify(PAGE)}); }).listen(${port}, "127.0.0.1", () => console.log("dev server listening on ${port}"));\n`;

describe.skipIf(!haveChromium || (!boundary.ok && !inCI))(
  "the agent's browser in the jail (GitHub App mode, the default INSPECT_BROWSER)",
  () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "inspect-browser-jail-"));
    const gitRoot = path.join(root, "git");
    let bare: string;
    let port: number;
    let fake: FakeGhe;
    let model: ModelServer;
    let database: Database;
    let inspect: Inspect;
    const runnerOutput: string[] = [];
    const events = (id: string) => inspect.sessions.deps.events.list(id);
    const sessionOf = async (thread: number) =>
      until(`the session of #${thread}`, async () =>
        (await listSessions(database.db)).find((s) => s.threadNumber === thread),
      );
    /** The real uids of processes running `command` (not the wrappers that start it), mentioning `mentioning`. */
    const owners = (command: string, mentioning = "") =>
      execFileSync("ps", ["-eo", "uid=,args="], { encoding: "utf8" })
        .split("\n")
        .map((l) => /^\s*(\d+) (.*)$/.exec(l))
        .filter((m) => m?.[2]!.startsWith(command) && m[2].includes(mentioning))
        .map((m) => Number(m![1]));

    beforeAll(async () => {
      // Loud in CI: a missing boundary must not pass as a skipped test there.
      expect(boundary.ok ? "" : boundary.reason).toBe("");
      chmodSync(root, 0o755); // the sandbox user walks through to its box
      port = await freePort();
      bare = bareRepo(path.join(gitRoot, "acme"), "widgets", {
        "README.md": "# widgets\n",
        "server.cjs": devServerJs(port),
        ".inspect/config.yml": `browser:\n  dev_server: node server.cjs\n  url: http://localhost:${port}/\n  wait_seconds: 30\n`,
      });
      git(bare, "config", "http.receivepack", "true");
      fake = await startFakeGhe(gitRoot, bare, { owner: "acme", repo: "widgets", installationId: 77 });
      fake.permissions.set("alice", "write");
      model = await startModelServer();
      database = await openDatabase({ dataDir: "memory://" });
      const env = fakeGheEnv(fake, model, path.join(root, "data"));
      delete env.INSPECT_BROWSER; // the default: auto
      inspect = await testInspect(env, database, {
        logLevel: "debug",
        logDestination: { write: (line) => void runnerOutput.push(line) },
      });
      await inspect.listen(0, "127.0.0.1");
    }, 60_000);

    afterAll(async () => {
      await inspect?.close();
      await model?.close();
      await fake?.close();
      await database?.close();
      const left = await waitForNoProcesses(root, 15_000);
      rmSync(root, { recursive: true, force: true });
      expect(left).toEqual([]);
    }, 60_000);

    it("the config's dev server runs as the sandbox user; the agent opens it, clicks, takes a screenshot (an artifact linked from the PR); a non-local address is refused", async () => {
      const url = `http://localhost:${port}/`;
      const afterSnapshot = hangStep() as Extract<ModelStep, { kind: "hang" }>;
      model.reset([
        toolStep({ name: "playwright_browser_navigate", args: { url } }),
        toolStep({ name: "playwright_browser_snapshot", args: {} }),
        afterSnapshot,
      ]);
      expect(
        (
          await deliver(
            inspect,
            "issue_comment",
            issueComment("@inspect check the button", { issue: 41, commentId: 9401, login: "alice" }),
          )
        ).status,
      ).toBe(200);
      const session = await sessionOf(41);
      const log = await until(
        "the page's snapshot",
        async () => {
          const l = await events(session.id);
          return done(l, "playwright_browser_snapshot").length > 0 ? l : null;
        },
        150_000,
      );
      // Offered by default; the dev server answered before the first turn and the agent was told.
      expect(offeredBy(model)).toEqual(
        expect.arrayContaining(["playwright_browser_navigate", "playwright_browser_click"]),
      );
      expect(
        ofType(log, "setup.output")
          .map((e) => e.data.text)
          .join(""),
      ).toMatch(new RegExp(`dev server listening on ${port}[\\s\\S]*${url.replace(/[/.]/g, "\\$&")} answers`));
      expect(instructions(model)).toContain(`answers at ${url}`);
      const navigated = done(log, "playwright_browser_navigate")[0]!.data;
      expect(navigated.status, JSON.stringify(navigated)).toBe("completed");
      expect(navigated.output).toContain("Page Title: Demo");

      // The browser and the dev server are the sandbox user's processes, not ours.
      await model.waitForStepRequests(3); // the hanging one: the browser is up meanwhile
      const uid = (boundary as { ok: true; user: { uid: number } }).user.uid;
      expect(owners(process.execPath, `--output-dir ${root}`)).not.toHaveLength(0);
      expect(new Set(owners(process.execPath, `--output-dir ${root}`))).toEqual(new Set([uid]));
      expect(new Set(owners("node server.cjs"))).toEqual(new Set([uid]));

      const ref = /button "Press me" \[ref=(\w+)\]/.exec(
        done(log, "playwright_browser_snapshot")[0]!.data.output ?? "",
      )?.[1];
      expect(ref).toBeDefined();
      afterSnapshot.then = toolStep({
        name: "playwright_browser_click",
        args: { element: "Press me button", target: ref },
      });
      model.push(
        toolStep({ name: "playwright_browser_snapshot", args: {} }),
        toolStep({ name: "playwright_browser_take_screenshot", args: { scale: "css" } }),
        toolStep({ name: "playwright_browser_navigate", args: { url: "http://example.com/" } }),
        // A change, so there is a pull request for the screenshot to be linked from.
        toolStep({ name: "write", args: { filePath: "CHECKED.md", content: "The button works.\n" } }),
        textStep("The button works."),
      );
      model.release();
      const all = await until(
        "the turn to finish",
        async () => {
          const l = await events(session.id);
          return ofType(l, "prompt.finished").length > 0 ? l : null;
        },
        120_000,
      );
      expect(ofType(all, "prompt.finished")[0]!.data.status, JSON.stringify(ofType(all, "error"))).toBe("done");
      expect(done(all, "playwright_browser_click")[0]!.data.status).toBe("completed");
      expect(done(all, "playwright_browser_snapshot")[1]!.data.output).toContain("clicked!");
      expect(done(all, "playwright_browser_take_screenshot")[0]!.data.status).toBe("completed");
      const outside = done(all, "playwright_browser_navigate")[1]!.data;
      expect(`${outside.output ?? ""}${outside.error ?? ""}`).toMatch(/not allowed|blocked|ERR_/i);

      // Uploaded from outside the jail, stored as the session's artifact, linked from the PR body.
      const added = await until(
        "the screenshot artifact",
        async () => ofType(await events(session.id), "artifact.added")[0],
      );
      expect(added.data).toMatchObject({ contentType: "image/png", name: expect.stringMatching(/^page-.*\.png$/) });
      const stored = await getArtifact(database.db, session.id, added.data.artifactId);
      expect(Buffer.from(stored!.data, "base64").subarray(1, 4).toString()).toBe("PNG");
      const pr = await until("the PR linking the screenshot", () =>
        [...fake.pulls.values()].find((p) =>
          p.body.includes(`/api/sessions/${session.id}/artifacts/${added.data.artifactId}`),
        ),
      );
      expect(pr.head).toBe(session.headBranch);

      // The dev server ends with the sandbox.
      await until("the runner to exit", async () => (await waitForNoProcesses(session.id, 100)).length === 0, 60_000);
      expect(owners("node server.cjs")).toEqual([]);
    }, 300_000);

    it("a dev server that fails is reported and the turn still runs; the agent is told it is not running", async () => {
      const seed = mkdtempSync(path.join(root, "seed-"));
      git(root, "clone", "-q", bare, seed);
      writeFileSync(
        path.join(seed, ".inspect/config.yml"),
        `browser:\n  dev_server: echo "cannot find module" >&2; exit 3\n  url: http://localhost:${port}/\n`,
      );
      git(seed, "-c", "user.name=T", "-c", "user.email=t@x", "commit", "-qam", "a dev server that fails");
      git(seed, "push", "-q", "origin", "main");
      model.reset([textStep("Looked.")]);
      expect(
        (
          await deliver(
            inspect,
            "issue_comment",
            issueComment("@inspect look", { issue: 42, commentId: 9402, login: "alice" }),
          )
        ).status,
      ).toBe(200);
      const session = await sessionOf(42);
      const log = await until(
        "the turn to finish",
        async () => {
          const l = await events(session.id);
          return ofType(l, "prompt.finished").length > 0 ? l : null;
        },
        150_000,
      );
      const failed = ofType(log, "error").find((e) => e.data.code === "dev_server_failed");
      expect(failed?.data.message, JSON.stringify(log.map((e) => [e.type, e.data]))).toMatch(
        /The dev server from \.inspect\/config\.yml .* exited with code 3 before .* answered; continuing without it/,
      );
      expect(
        ofType(log, "setup.output")
          .map((e) => e.data.text)
          .join(""),
      ).toContain("cannot find module");
      expect(ofType(log, "prompt.finished")[0]!.data.status).toBe("done");
      expect(instructions(model)).toContain("so it is not running");
    }, 240_000);
  },
);

describe.skipIf(!haveChromium)("the agent's browser, local mode: the session page open in Chromium", () => {
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
