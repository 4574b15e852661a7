/**
 * Transient git failures end to end: "transient fetch/push errors are retried a bounded number
 * of times", through the real control plane (in-process, PGlite in memory, INSPECT_RUNNER=local),
 * the real sandbox process and real git over smart HTTP against the fake GitHub Enterprise host
 * (test/support/fake-ghe.ts), with the scripted model server standing in for the provider.
 *
 * The fake answers chosen git requests with a 502 (`failGit`), as a proxy in front of GitHub
 * does when the backend blips. Git reports that as `error: RPC failed; HTTP 502 curl 22 The
 * requested URL returned error: 502`, which sandbox/git/run.ts classifies as transient.
 *
 *   1. The first clone request and the first push request fail once: both are retried, the
 *      prompt ends done, alice's commit is on the branch, each retry is a line of the runner's
 *      output (sandbox/retry.ts) with no token in it.
 *   2. Every push request fails: the push is given up after its bounded attempts and the prompt
 *      ends failed with a clear error event, within a bounded time, not a hang.
 *
 * After each case no process started for it is left.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../app/db/client.js";
import { listPrompts } from "../../app/db/prompts.js";
import { getSession, listSessions } from "../../app/db/sessions.js";
import type { Inspect } from "../../app/server.js";
import { basic, fakeGheEnv, gitConversation, startFakeGhe, type FakeGhe } from "../support/fake-ghe.js";
import { deliver, testInspect } from "../support/inspect.js";
import { startModelServer, textStep, toolStep, type ModelServer } from "../support/model-server.js";
import { issueComment } from "../support/payloads.js";
import { bareRepo, git, processesMentioning, waitForNoProcesses } from "../support/sandbox-harness.js";
import { ofType, until } from "../support/wait.js";

const OWNER = "acme";
const REPO = "widgets";

const root = mkdtempSync(path.join(os.tmpdir(), "inspect-gitretry-"));
const gitRoot = path.join(root, "git");
let bare: string;
let fake: FakeGhe;
let model: ModelServer;
let database: Database;
let inspect: Inspect;
/** What each runner process printed (the local dispatcher hands it to the app's log at debug level). */
const runnerOutput = new Map<string, string[]>();

const bareGit = (...args: string[]) => execFileSync("git", ["--git-dir", bare, ...args], { encoding: "utf8" }).trim();
const events = (id: string) => inspect.sessions.deps.events.list(id);

/** The git tokens minted so far (repository-scoped), in every form the redactor must remove. */
function tokenForms(): string[] {
  const tokens = fake.tokens.filter((t) => t.body.repositories?.includes(REPO)).map((t) => t.token);
  return tokens.flatMap((t) => [t, basic(t).slice("Basic ".length)]);
}

async function sessionOf(thread: number) {
  return (await listSessions(database.db)).filter((s) => s.threadNumber === thread);
}

async function finishedTurn(sessionId: string, timeoutMs: number) {
  return until(
    "the turn to finish",
    async () => {
      const l = await events(sessionId);
      return ofType(l, "prompt.finished").length >= 1 ? l : null;
    },
    timeoutMs,
  );
}

/** Wait for the runner to exit on idle and nothing of it to be left running. */
async function runnerGone(sessionId: string) {
  await until(
    "the session to end",
    async () => ["completed", "failed"].includes((await getSession(database.db, sessionId))?.status ?? ""),
    30_000,
  );
  expect(await waitForNoProcesses(root, 15_000)).toEqual([]);
}

beforeAll(async () => {
  bare = bareRepo(path.join(gitRoot, OWNER), REPO, {
    "README.md": "# widgets\n",
    "src/login.ts": "export const login = () => null;\n",
  });
  git(bare, "config", "http.receivepack", "true");
  fake = await startFakeGhe(gitRoot, bare, { owner: OWNER, repo: REPO, installationId: 77 });
  fake.permissions.set("alice", "write");
  model = await startModelServer();
  database = await openDatabase({ dataDir: "memory://" });
  inspect = await testInspect(fakeGheEnv(fake, model, path.join(root, "data")), database);
  // The app logs at "fatal" in tests; keep the runners' output (debug, tagged with the session) here instead.
  inspect.log.debug = (obj: unknown, msg?: string) => {
    const sessionId = (obj as { sessionId?: string } | null)?.sessionId;
    if (sessionId && msg !== undefined) runnerOutput.set(sessionId, [...(runnerOutput.get(sessionId) ?? []), msg]);
  };
  await inspect.listen(0, "127.0.0.1");
});

afterAll(async () => {
  await inspect?.close();
  await model?.close();
  await fake?.close();
  await database?.close();
  const left = processesMentioning(root);
  rmSync(root, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe("transient git errors through the whole stack", () => {
  it("a 502 on the first clone request and on the first push request: both retried, alice's commit pushed, the prompt done", async () => {
    const ISSUE = 21;
    const BRANCH = `inspect/${ISSUE}-login-page-crashes`;
    const cloneFailure = fake.failGit("POST", "/git-upload-pack", 1);
    const pushFailure = fake.failGit("POST", "/git-receive-pack", 1);
    const gitBefore = fake.git.length;
    model.reset([
      toolStep({ name: "write", args: { filePath: "src/workaround.md", content: "Clear the cookie to log in.\n" } }),
      textStep("Documented the login workaround."),
    ]);
    const res = await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect document the login workaround", { issue: ISSUE, commentId: 6001 }),
    );
    expect(res.status).toBe(200);
    const session = await until("the session", async () => (await sessionOf(ISSUE))[0]);

    const log = await finishedTurn(session.id, 90_000);
    const finished = ofType(log, "prompt.finished")[0]!.data;
    expect(finished.status, JSON.stringify(ofType(log, "error"))).toBe("done");
    expect(finished.commits).toHaveLength(1);
    const sha = finished.commits[0]!.sha;
    expect(ofType(log, "error")).toEqual([]);

    // Alice's commit is the branch's head in the bare repository, on top of main.
    expect(bareGit("rev-parse", `refs/heads/${BRANCH}`)).toBe(sha);
    expect(bareGit("rev-parse", `${sha}^`)).toBe(bareGit("rev-parse", "refs/heads/main"));
    expect(bareGit("log", "-1", "--format=%an", sha)).toBe("alice");
    expect(ofType(log, "git.push").map((e) => e.data)).toEqual([{ branch: BRANCH, sha }]);

    // The fake saw each failed attempt, then a successful one: clone, clone again, push, push again.
    expect(cloneFailure.remaining).toBe(0);
    expect(pushFailure.remaining).toBe(0);
    const calls = fake.git.slice(gitBefore);
    expect(gitConversation(calls)).toEqual([
      "GET /info/refs?service=git-upload-pack → 200",
      "POST /git-upload-pack → 502",
      "GET /info/refs?service=git-upload-pack → 200",
      "POST /git-upload-pack → 200",
      "GET /info/refs?service=git-receive-pack → 200",
      "POST /git-receive-pack → 502",
      "GET /info/refs?service=git-receive-pack → 200",
      "POST /git-receive-pack → 200",
    ]);
    expect(calls.filter((c) => c.injected).map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /git-upload-pack",
      "POST /git-receive-pack",
    ]);

    await runnerGone(session.id);

    // The retries are visible — the events or the runner's log say so — and no token is anywhere.
    const output = (runnerOutput.get(session.id) ?? []).join("\n");
    const everything = `${JSON.stringify(await events(session.id))}\n${output}`;
    const retried = output.split("\n").filter((line) => /retrying/.test(line));
    expect(retried, output).toEqual([
      expect.stringMatching(/attempt 1 of 3 failed, retrying in \d+ ms: git clone .*HTTP 502/),
      expect.stringMatching(/attempt 1 of 3 failed, retrying in \d+ ms: git push .*HTTP 502/),
    ]);
    for (const secret of tokenForms()) expect(everything).not.toContain(secret);
  }, 150_000);

  it("a push that keeps failing with a 502: given up after the bounded attempts, the prompt failed with a clear error, no hang", async () => {
    const ISSUE = 22;
    const BRANCH = `inspect/${ISSUE}-login-page-crashes`;
    const pushFailure = fake.failGit("POST", "/git-receive-pack", Infinity);
    const gitBefore = fake.git.length;
    model.reset([
      toolStep({ name: "write", args: { filePath: "src/second.md", content: "Second try.\n" } }),
      textStep("Wrote src/second.md."),
    ]);
    try {
      const res = await deliver(
        inspect,
        "issue_comment",
        issueComment("@inspect write a second note", { issue: ISSUE, commentId: 6002 }),
      );
      expect(res.status).toBe(200);
      const session = await until("the session", async () => (await sessionOf(ISSUE))[0]);

      const log = await finishedTurn(session.id, 90_000);
      const finished = ofType(log, "prompt.finished")[0]!.data;
      expect(finished.status).toBe("failed");
      expect(finished.error).toMatch(new RegExp(`Pushing ${BRANCH} failed`));
      const errors = ofType(log, "error");
      expect(errors).toHaveLength(1);
      expect(errors[0]!.data).toMatchObject({ code: "push_failed", promptId: finished.promptId });
      expect(errors[0]!.data.message).toContain(`Pushing ${BRANCH} failed`);
      expect(errors[0]!.data.message).toContain("HTTP 502");
      expect(ofType(log, "git.push")).toEqual([]);
      expect((await listPrompts(database.db, session.id)).map((p) => p.status)).toEqual(["failed"]);

      // Bounded: exactly three push attempts (sandbox/git/commit.ts), each refused, within seconds of each other.
      const pushes = fake.git.slice(gitBefore).filter((c) => c.method === "POST" && c.path === "/git-receive-pack");
      expect(pushes.map((c) => c.status)).toEqual([502, 502, 502]);
      expect(pushes.every((c) => c.injected)).toBe(true);
      const pushStarted = Date.parse(ofType(log, "git.commit")[0]?.ts ?? ofType(log, "prompt.started")[0]!.ts);
      const failedAt = Date.parse(ofType(log, "prompt.finished")[0]!.ts);
      expect(failedAt - pushStarted).toBeLessThan(20_000);

      // Nothing reached the repository.
      expect(() => bareGit("rev-parse", "--verify", "--quiet", `refs/heads/${BRANCH}`)).toThrow();

      await runnerGone(session.id);
      const output = (runnerOutput.get(session.id) ?? []).join("\n");
      expect(
        output.split("\n").filter((line) => /retrying/.test(line)),
        output,
      ).toEqual([
        expect.stringMatching(/attempt 1 of 3 failed, retrying in \d+ ms: git push .*HTTP 502/),
        expect.stringMatching(/attempt 2 of 3 failed, retrying in \d+ ms: git push .*HTTP 502/),
      ]);
      const everything = `${JSON.stringify(await events(session.id))}\n${output}`;
      for (const secret of tokenForms()) expect(everything).not.toContain(secret);
    } finally {
      pushFailure.remaining = 0;
    }
  }, 150_000);
});
