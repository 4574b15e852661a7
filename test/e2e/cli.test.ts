/**
 * The CLI as people and scripts use it, against the real control plane, sandbox and OpenCode
 * (scripted model): run, list, logs (--follow), stop and open, with --json; a reader that
 * goes away (`| head -1`) and Ctrl-C end it quietly, Ctrl-C saying how to get back.
 */
import { execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hangStep, textStep, toolStep } from "../support/model-server.js";
import { api, bareRepo, startHarness, waitForStatus, type Harness } from "../support/sandbox-harness.js";
import { until } from "../support/wait.js";

const CLI = path.resolve(import.meta.dirname, "../../bin/inspect.mjs");
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ idleTimeoutSeconds: 2 });
});
afterAll(async () => {
  await h?.close();
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, "--url", h.url],
      { timeout: 90_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("the CLI", () => {
  let id: string;

  it("runs a prompt with --json: the session first, then each event as a JSON line; exit 0", async () => {
    const repo = bareRepo(h.root, "cli-json");
    h.model.reset([
      toolStep({ name: "write", args: { filePath: "hello.txt", content: "hi\n" } }),
      textStep("Wrote hello.txt."),
    ]);
    const ran = await cli(["run", "--repo", repo, "--json", "Add a hello file"]);
    expect(ran.code).toBe(0);
    const [session, ...events] = jsonLines(ran.stdout);
    expect(session).toMatchObject({ id: expect.any(String), url: expect.stringContaining("/sessions/") });
    id = session.id;
    expect(events.map((e) => e.type)).toContain("files.changed");
    expect(events.at(-1)).toMatchObject({ type: "prompt.finished", data: { status: "done" } });
    // Nothing but JSON on stdout: no progress indicator off a terminal.
    expect(ran.stdout).not.toMatch(/\r|\x1b\[/);
    await waitForStatus(h, id, ["completed"], 30_000);
  });

  it("lists sessions and prints a session's log, readable or as JSON", async () => {
    const list = await cli(["list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}  completed  local/cli-json  Add a hello file$`, "m"));
    const listed = jsonLines((await cli(["list", "--json"])).stdout);
    expect(listed.find((s) => s.id === id)).toMatchObject({ status: "completed", repo: "local/cli-json" });

    const log = await cli(["logs", id]);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain("  ✎ hello.txt +1 −0\n");
    expect(log.stdout).toContain("  1 file changed, +1 −0\n");
    expect(log.stdout).toMatch(/■ prompt \d+ done — 1 commit, 1 file changed\n/);
    const events = jsonLines((await cli(["logs", id, "--json"])).stdout);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
    // An ended session: --follow prints it all and exits with how it ended.
    expect((await cli(["logs", id, "--follow"])).code).toBe(0);
  });

  it("ends quietly when the reader goes away (| head -1)", async () => {
    // Enough lines that the CLI is still writing when head has gone.
    await h.inspect.sessions.deps.events.append(
      id,
      Array.from({ length: 3_000 }, (_, i) => ({
        type: "agent.text" as const,
        data: { partId: `bulk-${i}`, text: `line ${i} ${"x".repeat(60)}` },
      })),
    );
    const ran = await new Promise<Ran>((resolve) =>
      execFile(
        "bash",
        ["-c", `node ${JSON.stringify(CLI)} logs ${id} --url ${h.url} | head -1; exit \${PIPESTATUS[0]}`],
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(ran.stdout.split("\n").filter(Boolean)).toHaveLength(1);

    // All of a log longer than one page of the events API.
    const { lastSeq } = (await api(h, "GET", `/api/sessions/${id}`)).session;
    expect(lastSeq).toBeGreaterThan(3_000);
    const all = jsonLines((await cli(["logs", id, "--json"])).stdout);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
  });

  it("opens, follows and stops a running session; stopping it again is refused (exit 3)", async () => {
    const repo = bareRepo(h.root, "cli-stop");
    h.model.reset([hangStep()]);
    const { id: running } = await api<{ id: string }>(h, "POST", "/api/sessions", { repo, prompt: "Think forever" });
    await h.model.waitForStepRequests(1);

    const opened = path.join(h.root, "opened.txt");
    const browser = path.join(h.root, "browser.sh");
    writeFileSync(browser, `#!/bin/sh\necho "$1" > ${JSON.stringify(opened)}\n`, { mode: 0o755 });
    const open = await cli(["open", running], { BROWSER: browser });
    expect(open.code).toBe(0);
    expect(open.stdout.trim()).toMatch(new RegExp(`^http://\\S+/sessions/${running}$`));
    await until("the browser to be started", () => readFileSync(opened, "utf8").trim() === open.stdout.trim());

    // A terminal gets a live indicator while the model thinks.
    const tty = spawn("script", ["-qfc", `node ${CLI} logs ${running} --follow --url ${h.url}`, "/dev/null"], {
      env: { ...process.env, CI: "" },
    });
    let screen = "";
    tty.stdout.on("data", (c) => (screen += c));
    await until("the progress indicator", () => /thinking… \d+s/.test(screen), 15_000);

    const follow = cli(["logs", running, "--follow"]);
    const stop = await cli(["stop", running]);
    expect(stop).toMatchObject({ code: 0, stdout: `Stopping ${running}; what was pushed stays.\n` });
    const followed = await follow;
    expect(followed.code, followed.stdout + followed.stderr).toBe(1); // it ended stopped
    await waitForStatus(h, running, ["stopped"]);
    await until("the terminal follower to end", () => tty.exitCode !== null, 15_000);

    const again = await cli(["stop", running, "--json"]);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/^inspect: session is stopped; nothing to stop\n$/);
    expect((await cli(["stop"])).code).toBe(2);
  });

  it("detaches on Ctrl-C, saying how to follow or stop the session, which goes on", async () => {
    const repo = bareRepo(h.root, "cli-sigint");
    h.model.reset([hangStep()]);
    const child = spawn(process.execPath, [CLI, "run", "--repo", repo, "--url", h.url, "Wait for me"]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const sid = await until("the session link", () => /Session (\w+):/.exec(stdout)?.[1]);
    await h.model.waitForStepRequests(1);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toBe(
      `\nDetached from session ${sid}; it keeps running.\n` +
        `  inspect logs ${sid} --follow   follow it again\n` +
        `  inspect stop ${sid}            stop it\n`,
    );
    expect((await api(h, "GET", `/api/sessions/${sid}`)).session.status).toBe("running");
    await api(h, "POST", `/api/sessions/${sid}/stop`, {});
    await waitForStatus(h, sid, ["stopped"]);
  });
});
