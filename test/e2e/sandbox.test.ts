/**
 * End to end through the real control plane: POST /api/sessions → the local dispatcher
 * spawns the real sandbox → the real OpenCode runs against the scripted model → commit →
 * push to a bare repository → events read back from GET /api/sessions/:id/events.
 * Only the model provider is replaced (at HTTP). Tests run one after another on one app.
 */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { upsertUser } from "../../app/db/accounts.js";
import { listPrompts } from "../../app/db/prompts.js";
import type { SessionEvent } from "../../protocol/events.js";
import { errorStep, hangStep, textStep, toolStep } from "../support/model-server.js";
import {
  api,
  bareRepo,
  git,
  processesMentioning,
  startHarness,
  waitForEvents,
  waitForNoProcesses,
  waitForStatus,
  type Harness,
} from "../support/sandbox-harness.js";
import { ofType } from "../support/wait.js";

let h: Harness;
let current: string | null = null;

beforeAll(async () => {
  h = await startHarness({ idleTimeoutSeconds: 2, setupTimeoutSeconds: 2 });
});

afterAll(async () => {
  await h?.close();
});

afterEach(async () => {
  // Every test ends with the sandbox gone and nothing it started still running.
  if (current) await waitForStatus(h, current, ["completed", "stopped", "failed", "idle"], 30_000);
  expect(await waitForNoProcesses(h.root, 15_000)).toEqual([]);
  current = null;
});

async function start(repo: string, prompt: string): Promise<string> {
  const session = await api<{ id: string; url: string }>(h, "POST", "/api/sessions", { repo, prompt });
  current = session.id;
  return session.id;
}

const finished = (n: number) => (log: SessionEvent[]) => log.filter((e) => e.type === "prompt.finished").length >= n;

describe("sandbox through the control plane", () => {
  it("runs a prompt: OpenCode writes the file, the commit is the requester's, the branch is pushed, events arrive in order", async () => {
    const repo = bareRepo(h.root, "hello");
    h.model.reset([
      toolStep({ name: "write", args: { filePath: "hello.txt", content: "hi there\n" } }),
      textStep("I wrote hello.txt for you."),
    ]);
    const id = await start(repo, "Add a hello file");
    const log = await waitForEvents(h, id, finished(1));

    const done = ofType(log, "prompt.finished")[0].data;
    expect(done.status).toBe("done");
    expect(done.changedFiles).toBe(1);
    expect(done.usage?.inputTokens).toBeGreaterThan(0);

    // The model was asked with the user's request inside the agent prompt.
    const first = h.model.stepRequests[0].body;
    expect(JSON.stringify(first.messages)).toContain("Add a hello file");

    // Order: started → tool call → file edit → assistant text → commit → push → finished.
    const seqs = log.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const at = (pred: (e: SessionEvent) => boolean) => log.findIndex(pred);
    const order = [
      at((e) => e.type === "prompt.started"),
      at((e) => e.type === "tool.call" && e.data.tool === "write" && e.data.status === "running"),
      at((e) => e.type === "tool.call" && e.data.tool === "write" && e.data.status === "completed"),
      at((e) => e.type === "file.edited" && e.data.path === "hello.txt"),
      at((e) => e.type === "agent.text" && e.data.text === "I wrote hello.txt for you."),
      at((e) => e.type === "git.commit"),
      at((e) => e.type === "git.push"),
      at((e) => e.type === "prompt.finished"),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order.slice(0, 3)).toEqual([...order.slice(0, 3)].sort((a, b) => a - b));
    expect(order.slice(4)).toEqual([...order.slice(4)].sort((a, b) => a - b));
    const deltas = ofType(log, "agent.text.delta")
      .map((e) => e.data.delta)
      .join("");
    expect(deltas).toBe("I wrote hello.txt for you.");

    const session = (await api(h, "GET", `/api/sessions/${id}`)).session;
    const branch = session.headBranch as string;
    const commit = ofType(log, "git.commit")[0].data;
    expect(ofType(log, "git.push")[0].data).toEqual({ branch, sha: commit.sha });
    expect(git(repo, "rev-parse", branch)).toBe(commit.sha);
    expect(git(repo, "show", `${branch}:hello.txt`)).toBe("hi there");
    expect(git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", branch)).toBe(
      "Dev Eloper <dev@example.com>|Inspect <inspect@localhost>",
    );
    expect(git(repo, "log", "-1", "--format=%B", branch)).toBe(`Add a hello file\n\nInspect-Session: ${session.url}`);
    expect(git(repo, "rev-parse", "main")).toBe(git(repo, "rev-parse", `${branch}~1`));
  });

  it("applies the repository's own AGENTS.md and opencode.json", async () => {
    const repo = bareRepo(h.root, "rules", {
      "README.md": "# rules\n",
      "AGENTS.md": "# House rules\nAlways mention AGENTS-MARKER-7731 in your answers.\n",
      "opencode.json": JSON.stringify({ $schema: "https://opencode.ai/config.json", instructions: ["docs/style.md"] }),
      "docs/style.md": "Style: prefer STYLE-MARKER-5512.\n",
    });
    h.model.reset([textStep("Noted.")]);
    const id = await start(repo, "What are the rules?");
    const log = await waitForEvents(h, id, finished(1));
    expect(ofType(log, "prompt.finished")[0].data.status).toBe("done");
    const asked = JSON.stringify(h.model.stepRequests[0].body.messages);
    expect(asked).toContain("AGENTS-MARKER-7731");
    expect(asked).toContain("STYLE-MARKER-5512");
  });

  it("refuses a write outside the checkout by policy, without waiting for a human, and the turn goes on", async () => {
    const repo = bareRepo(h.root, "fence");
    const outside = path.join(h.root, "outside-the-checkout.txt");
    h.model.reset([
      toolStep({ name: "write", args: { filePath: outside, content: "escaped\n" } }),
      toolStep({ name: "write", args: { filePath: "inside.txt", content: "fine\n" } }),
      textStep("Wrote what I was allowed to."),
    ]);
    const id = await start(repo, "Write two files");
    const log = await waitForEvents(h, id, finished(1), 60_000);
    expect(ofType(log, "prompt.finished")[0].data.status).toBe("done");
    expect(existsSync(outside)).toBe(false);
    const writes = ofType(log, "tool.call").filter(
      (e) => e.data.tool === "write" && ["completed", "error"].includes(e.data.status),
    );
    expect(writes.map((e) => e.data.status)).toEqual(["error", "completed"]);
    // The model was told why, and went on.
    expect(JSON.stringify(h.model.stepRequests[1]!.body.messages)).toContain("Refused by the sandbox");
    const commit = ofType(log, "git.commit")[0].data;
    const branch = (await api(h, "GET", `/api/sessions/${id}`)).session.headBranch as string;
    expect(git(repo, "show", `${branch}:inside.txt`)).toBe("fine");
    expect(commit.files).toBe(1);
  });

  it("takes two prompts in a row from two authors: two commits, both the local developer's", async () => {
    const repo = bareRepo(h.root, "two");
    h.model.reset([
      toolStep({ name: "write", args: { filePath: "a.txt", content: "from local\n" } }),
      textStep("a.txt done"),
      toolStep({ name: "write", args: { filePath: "b.txt", content: "from octo\n" } }),
      textStep("b.txt done"),
    ]);
    const id = await start(repo, "Write a.txt");
    const octo = await upsertUser(h.inspect.database.db, { login: "octo", githubId: 583231, name: "Octo Cat" });
    await h.inspect.sessions.queue(id, { author: octo, text: "Now write b.txt", source: "web" });
    const log = await waitForEvents(h, id, finished(2));

    expect(ofType(log, "prompt.finished").map((e) => e.data.status)).toEqual(["done", "done"]);
    const commits = ofType(log, "git.commit").map((e) => e.data);
    expect(commits.map((c) => c.author)).toEqual([
      { name: "Dev Eloper", email: "dev@example.com" },
      { name: "Dev Eloper", email: "dev@example.com" },
    ]);
    const branch = (await api(h, "GET", `/api/sessions/${id}`)).session.headBranch;
    expect(git(repo, "log", "--format=%an <%ae>|%s", `main..${branch}`).split("\n")).toEqual([
      "Dev Eloper <dev@example.com>|Now write b.txt",
      "Dev Eloper <dev@example.com>|Write a.txt",
    ]);
    // The second turn continued the same OpenCode session: the model saw the first exchange.
    expect(JSON.stringify(h.model.stepRequests[2].body.messages)).toContain("a.txt done");
  });

  it("stops in the middle of a long bash tool within a second, and kills the tool", async () => {
    const repo = bareRepo(h.root, "stop");
    h.model.reset([
      toolStep({
        name: "bash",
        args: { command: "echo started > started.txt; sleep 47; echo late > late.txt", description: "slow" },
      }),
    ]);
    const id = await start(repo, "Run the slow thing");
    await waitForEvents(h, id, (log) =>
      log.some((e) => e.type === "tool.call" && e.data.tool === "bash" && e.data.status === "running"),
    );
    // The tool is really running (its child sleep exists) before we stop.
    const sleeping = () => waitForNoProcesses("sleep 47", 0);
    await expect.poll(async () => (await sleeping()).length, { timeout: 10_000 }).toBeGreaterThan(0);

    const stopAt = Date.now();
    await api(h, "POST", `/api/sessions/${id}/stop`);
    const log = await waitForEvents(h, id, finished(1), 10_000);
    const stoppedIn = Date.now() - stopAt;
    expect(ofType(log, "prompt.finished")[0].data.status).toBe("stopped");
    expect(stoppedIn).toBeLessThan(1_000);
    expect(await waitForNoProcesses("sleep 47", 3_000)).toEqual([]);
    // Nothing was committed or pushed for the stopped turn.
    expect(ofType(log, "git.commit")).toEqual([]);
    const branch = (await api(h, "GET", `/api/sessions/${id}`)).session.headBranch;
    expect(() => git(repo, "rev-parse", "--verify", "--quiet", branch)).toThrow();
    expect(await waitForStatus(h, id, ["stopped"])).toBe("stopped");
  });

  it("ends the prompt failed with a clear error when the model answers 400, and stays usable", async () => {
    const repo = bareRepo(h.root, "modelerr");
    h.model.reset([errorStep(400, "This model does not exist: scripted-model-9000")]);
    const id = await start(repo, "Do something");
    const log = await waitForEvents(h, id, finished(1));
    const done = ofType(log, "prompt.finished")[0].data;
    expect(done.status).toBe("failed");
    expect(done.error).toContain("This model does not exist");
    const errors = ofType(log, "error").map((e) => e.data.message);
    expect(errors.some((m) => m.includes("HTTP 400") && m.includes("This model does not exist"))).toBe(true);
    // No commit for a turn that changed nothing.
    expect(ofType(log, "git.commit")).toEqual([]);
    expect(done.commits).toEqual([]);
    // The runner goes idle, then exits after the idle timeout: completed, not failed.
    expect(await waitForStatus(h, id, ["completed"], 20_000)).toBe("completed");
  });

  it("gives up on a model that keeps failing after a bounded number of retries", async () => {
    const repo = bareRepo(h.root, "overloaded");
    h.model.reset(Array.from({ length: 8 }, () => errorStep(503, "Overloaded, try again later")));
    const id = await start(repo, "Do something");
    const log = await waitForEvents(h, id, finished(1), 60_000);
    const done = ofType(log, "prompt.finished")[0].data;
    expect(done.status).toBe("failed");
    // OpenCode words the provider's "overloaded" in its own way; the attempt count is ours.
    expect(done.error).toMatch(/^The model kept failing \(4 attempts\): \S/);
    expect(ofType(log, "error").some((e) => e.data.message === done.error)).toBe(true);
    // One first try and three retries, then no more requests.
    expect(h.model.stepRequests).toHaveLength(4);
  }, 90_000);

  it("reports a failing setup script, streams its output, and still runs the prompt", async () => {
    const repo = bareRepo(h.root, "setupfail", {
      "README.md": "# setup\n",
      ".inspect/setup.sh": "#!/bin/sh\necho installing deps\necho 'npm ERR! oops' >&2\nexit 3\n",
    });
    h.model.reset([toolStep({ name: "write", args: { filePath: "x.txt", content: "x\n" } }), textStep("ok")]);
    const id = await start(repo, "Write x");
    const log = await waitForEvents(h, id, finished(1));
    const output = ofType(log, "setup.output").map((e) => e.data);
    expect(output).toContainEqual({ stream: "stdout", text: "installing deps\n" });
    expect(output).toContainEqual({ stream: "stderr", text: "npm ERR! oops\n" });
    expect(ofType(log, "setup.finished")[0].data).toMatchObject({ exitCode: 3, timedOut: false });
    expect(
      ofType(log, "error").some((e) => e.data.code === "setup_failed" && e.data.message.includes("exit code 3")),
    ).toBe(true);
    expect(ofType(log, "prompt.finished")[0].data.status).toBe("done");
    // Setup runs before the prompt starts.
    expect(log.findIndex((e) => e.type === "setup.finished")).toBeLessThan(
      log.findIndex((e) => e.type === "tool.call"),
    );
  });

  it("times out a hanging setup script, kills it, and goes on", async () => {
    const repo = bareRepo(h.root, "setuphang", {
      "README.md": "# hang\n",
      ".inspect/setup.sh": "#!/bin/sh\necho starting\nsleep 53\n",
    });
    h.model.reset([textStep("nothing to change")]);
    const id = await start(repo, "Look around");
    const log = await waitForEvents(h, id, finished(1));
    expect(ofType(log, "setup.finished")[0].data).toMatchObject({ exitCode: null, timedOut: true });
    expect(ofType(log, "setup.finished")[0].data.durationMs).toBeLessThan(5_000);
    expect(ofType(log, "error").some((e) => e.data.code === "setup_timeout")).toBe(true);
    expect(await waitForNoProcesses("sleep 53", 3_000)).toEqual([]);
    const done = ofType(log, "prompt.finished")[0].data;
    expect(done).toMatchObject({ status: "done", commits: [], changedFiles: 0 });
  });

  it("fails the prompt with the reason when the push is rejected", async () => {
    const repo = bareRepo(h.root, "rejected");
    const hook = path.join(repo, "hooks", "pre-receive");
    writeFileSync(hook, "#!/bin/sh\necho 'branch creation is disabled by policy' >&2\nexit 1\n");
    chmodSync(hook, 0o755);
    h.model.reset([toolStep({ name: "write", args: { filePath: "y.txt", content: "y\n" } }), textStep("wrote y")]);
    const id = await start(repo, "Write y");
    const log = await waitForEvents(h, id, finished(1));
    const done = ofType(log, "prompt.finished")[0].data;
    expect(done.status).toBe("failed");
    expect(done.error).toContain("branch creation is disabled by policy");
    expect(ofType(log, "git.commit")).toHaveLength(1);
    expect(ofType(log, "git.push")).toEqual([]);
    expect(ofType(log, "error").some((e) => e.data.code === "push_failed")).toBe(true);
  });

  /** Someone else pushes `file` to the session's branch while the model is thinking. */
  async function pushMeanwhile(repo: string, id: string, file: string, content: string): Promise<string> {
    await h.model.waitForStepRequests(1, 30_000);
    const { session } = await api(h, "GET", `/api/sessions/${id}`);
    const other = path.join(h.root, `other-${id}`);
    git(h.root, "clone", "-q", repo, other);
    git(other, "checkout", "-q", "-b", session.headBranch);
    writeFileSync(path.join(other, file), content);
    git(other, "add", file);
    git(other, "commit", "-q", "-m", `someone's ${file}`);
    git(other, "push", "-q", "origin", session.headBranch);
    return session.headBranch as string;
  }

  it("puts the turn's commit on top when someone pushed to the branch meanwhile, and says so", async () => {
    const repo = bareRepo(h.root, "meanwhile");
    h.model.reset([
      hangStep(toolStep({ name: "write", args: { filePath: "ours.txt", content: "ours\n" } })),
      textStep("ok"),
    ]);
    const id = await start(repo, "Add ours");
    const branch = await pushMeanwhile(repo, id, "theirs.txt", "theirs\n");
    h.model.release();
    const log = await waitForEvents(h, id, finished(1));
    expect(ofType(log, "prompt.finished")[0].data.status).toBe("done");
    const push = ofType(log, "git.push")[0].data;
    expect(push.synced).toMatchObject({ how: "rebased", theirs: 1 });
    expect(git(repo, "rev-parse", branch)).toBe(push.sha);
    expect(git(repo, "show", `${branch}:ours.txt`)).toBe("ours");
    expect(git(repo, "show", `${branch}:theirs.txt`)).toBe("theirs");
    expect(git(repo, "log", "-1", "--format=%s", `${branch}~1`)).toBe("someone's theirs.txt");
    // The rebased commit is still the requester's.
    expect(git(repo, "log", "-1", "--format=%an", branch)).toBe("Dev Eloper");
  });

  it("fails the prompt with a clear message when what was pushed meanwhile conflicts, keeping their branch", async () => {
    const repo = bareRepo(h.root, "conflict");
    h.model.reset([
      hangStep(toolStep({ name: "write", args: { filePath: "same.txt", content: "ours\n" } })),
      textStep("ok"),
    ]);
    const id = await start(repo, "Write same");
    const branch = await pushMeanwhile(repo, id, "same.txt", "theirs\n");
    const theirs = git(repo, "rev-parse", branch);
    h.model.release();
    const log = await waitForEvents(h, id, finished(1));
    const done = ofType(log, "prompt.finished")[0].data;
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/pushed to .* while this turn ran, and they conflict/);
    expect(git(repo, "rev-parse", branch)).toBe(theirs);
  });

  it("fails the prompt and the session with a clear error when the checkout cannot be prepared", async () => {
    // HEAD names main, but only another branch exists: the clone works, the base branch does not.
    const repo = bareRepo(h.root, "nobase");
    git(repo, "branch", "-m", "main", "other");
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main");
    h.model.reset([]);
    const id = await start(repo, "Anything");
    const log = await waitForEvents(h, id, finished(1));
    const done = ofType(log, "prompt.finished")[0].data;
    expect(done.status).toBe("failed");
    expect(done.error).toContain("The base branch main does not exist on the remote");
    expect(ofType(log, "error").some((e) => e.data.code === "checkout_failed")).toBe(true);
    expect(await waitForStatus(h, id, ["failed"])).toBe("failed");
    expect(h.model.requests).toEqual([]);
  });

  it("the CLI starts a session on a local repository, prints the link and follows it to the end", async () => {
    const repo = bareRepo(h.root, "cli");
    h.model.reset([
      toolStep({ name: "write", args: { filePath: "cli.txt", content: "from the cli\n" } }),
      textStep("Created cli.txt as asked."),
    ]);
    const cli = path.resolve(import.meta.dirname, "../../bin/inspect.mjs");
    const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
      const child = execFile(
        process.execPath,
        [cli, "run", "--repo", repo, "--url", h.url, "Create cli.txt"],
        { timeout: 60_000 },
        (error, out) => resolve({ stdout: out, code: error ? ((error as { code?: number }).code ?? 1) : 0 }),
      );
      child.stdout?.once("data", (chunk: Buffer) => {
        const id = /Session (\w+):/.exec(String(chunk))?.[1];
        if (id) current = id;
      });
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Session \w+: http:\/\/\S+\/sessions\/\w+$/m);
    expect(stdout).toContain("» @local: Create cli.txt");
    expect(stdout).toContain("✓ write cli.txt");
    expect(stdout).toContain("✎ cli.txt");
    expect(stdout).toContain("  Created cli.txt as asked.\n");
    expect(stdout).toMatch(/● commit [0-9a-f]{10} by Dev Eloper <dev@example\.com> \(1 file\)/);
    expect(stdout).toMatch(/↑ pushed inspect\/\w+-create-cli-txt at [0-9a-f]{10}/);
    expect(stdout).toMatch(/■ prompt \d+ done — 1 commit, 1 file changed\n$/);
    // The CLI says it is the CLI: its prompt shows "via cli" (one started from the page, "via web").
    expect((await listPrompts(h.inspect.database.db, current!)).map((p) => p.source)).toEqual(["cli"]);
  });

  it("fails the prompt and the session with a clear error when OpenCode dies mid-turn", async () => {
    const repo = bareRepo(h.root, "crash");
    h.model.reset([hangStep()]);
    const id = await start(repo, "Think hard");
    await h.model.waitForStepRequests(1);
    const opencode = processesMentioning(h.root).filter(
      (p) => / serve --hostname 127\.0\.0\.1/.test(p) && !p.includes("sh -c"),
    );
    expect(opencode).toHaveLength(1);
    process.kill(Number(opencode[0].split(" ")[0]), "SIGKILL");
    const log = await waitForEvents(h, id, finished(1), 15_000);
    const done = ofType(log, "prompt.finished")[0].data;
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/OpenCode exited \(SIGKILL\)/);
    expect(ofType(log, "error").some((e) => e.data.message.includes("OpenCode exited"))).toBe(true);
    expect(await waitForStatus(h, id, ["failed"])).toBe("failed");
    h.model.release();
  });
});

describe("control plane shutdown", () => {
  it("stops a running sandbox on shutdown, keeps the turn's work, ends the session, and leaves no process behind", async () => {
    // A second app on the same database, so closing it leaves the file's main app alone.
    const other = await startHarness({ idleTimeoutSeconds: 60, database: h.inspect.database });
    try {
      const repo = bareRepo(other.root, "shutdown");
      other.model.reset([toolStep({ name: "bash", args: { command: "sleep 59", description: "wait" } })]);
      const session = await api<{ id: string }>(other, "POST", "/api/sessions", { repo, prompt: "Wait a minute" });
      await waitForEvents(other, session.id, (log) =>
        log.some((e) => e.type === "tool.call" && e.data.status === "running"),
      );
      expect(processesMentioning(other.root).length).toBeGreaterThan(0);

      const closing = Date.now();
      await other.inspect.close();
      // SIGTERM → abort the turn, keep its work, report, kill OpenCode: inside the dispatcher's 5 s grace.
      expect(Date.now() - closing).toBeLessThan(5_000);
      expect(await waitForNoProcesses(other.root, 5_000)).toEqual([]);
      const { session: after, prompts } = await api(h, "GET", `/api/sessions/${session.id}`);
      expect(prompts[0]).toMatchObject({ status: "failed", error: expect.stringMatching(/runner was shut down/) });
      // Not left looking busy: the session ended with its runner.
      expect(["completed", "failed"]).toContain(after.status);
    } finally {
      await other.model.close();
      rmSync(other.root, { recursive: true, force: true });
    }
  });
});

describe("stop while the sandbox is still being prepared", () => {
  it("kills a long setup script and ends the prompt stopped at once", async () => {
    const other = await startHarness({
      idleTimeoutSeconds: 60,
      setupTimeoutSeconds: 120,
      database: h.inspect.database,
    });
    try {
      const repo = bareRepo(other.root, "slowsetup", {
        "README.md": "# slow\n",
        ".inspect/setup.sh": "#!/bin/sh\necho installing\nsleep 57\n",
      });
      const session = await api<{ id: string }>(other, "POST", "/api/sessions", { repo, prompt: "Never mind" });
      await waitForEvents(other, session.id, (log) => log.some((e) => e.type === "setup.output"));
      const stopAt = Date.now();
      await api(other, "POST", `/api/sessions/${session.id}/stop`);
      const log = await waitForEvents(other, session.id, finished(1), 10_000);
      expect(Date.now() - stopAt).toBeLessThan(1_500);
      expect(ofType(log, "prompt.finished")[0].data.status).toBe("stopped");
      expect(other.model.stepRequests).toEqual([]);
      expect(await waitForNoProcesses("sleep 57", 3_000)).toEqual([]);
      expect(await waitForStatus(other, session.id, ["stopped"])).toBe("stopped");
      expect(await waitForNoProcesses(other.root, 10_000)).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe("the runner's snapshot", () => {
  it("keeps a checkout whose setup worked for the next session, but not one whose setup a stop cut short", async () => {
    const other = await startHarness({ idleTimeoutSeconds: 1, setupTimeoutSeconds: 120, database: h.inspect.database });
    try {
      // Installs once; on a checkout that already has its dependencies it hangs (as a long reinstall would).
      const setup =
        "#!/bin/sh\nif [ -f deps/installed ]; then echo reinstalling; sleep 57; fi\nmkdir -p deps && touch deps/installed && echo installed\n";
      const repo = bareRepo(other.root, "snapkeep", {
        "README.md": "# keep\n",
        ".gitignore": "deps/\n",
        ".inspect/setup.sh": setup,
      });
      const snapshot = path.join(other.root, "data", "snapshots", "local", "snapkeep");
      other.model.reset([textStep("Nothing to change.")]);
      const first = await api<{ id: string }>(other, "POST", "/api/sessions", { repo, prompt: "Look around" });
      expect(await waitForStatus(other, first.id, ["completed"], 60_000)).toBe("completed");
      // The checkout, with what setup installed, becomes the runner's snapshot (just after the runner reports its exit).
      await expect.poll(() => existsSync(path.join(snapshot, "deps", "installed")), { timeout: 15_000 }).toBe(true);
      expect(await waitForNoProcesses(other.root, 10_000)).toEqual([]);

      const second = await api<{ id: string }>(other, "POST", "/api/sessions", { repo, prompt: "Never mind" });
      await waitForEvents(other, second.id, (log) =>
        log.some((e) => e.type === "setup.output" && e.data.text.includes("reinstalling")),
      );
      await api(other, "POST", `/api/sessions/${second.id}/stop`);
      expect(await waitForStatus(other, second.id, ["stopped"])).toBe("stopped");
      expect(await waitForNoProcesses(other.root, 10_000)).toEqual([]);
      // Taken from the snapshot, its setup killed half-way: not handed back as the next starting point.
      expect(existsSync(snapshot)).toBe(false);
    } finally {
      await other.close();
    }
  });
});
