/**
 * The whole GitHub flow, end to end, with real parts everywhere except GitHub's HTTP API and
 * the model provider:
 *
 *   signed issue_comment webhook → the real control plane (in-process, PGlite in memory,
 *   INSPECT_RUNNER=local) → the local dispatcher spawns the real sandbox (sandbox/main.ts) →
 *   it clones over git smart HTTP from a fake GitHub Enterprise host, the real OpenCode runs
 *   a scripted model, the commit (author: the requester, committer: the bot) is pushed back
 *   over HTTP → a draft PR, a check run and the status comment on the fake's REST API →
 *   a follow-up comment on the PR from someone else becomes a second commit on the same PR.
 *
 * The fake host (test/support/fake-ghe.ts) is one loopback HTTP server serving both
 * `/api/v3/...` (REST, recorded) and `/{owner}/{repo}.git/...` through `git http-backend` (CGI)
 * over a local bare repository. Git requests must carry the installation token the app minted
 * for this repository (the sandbox sends it as an `Authorization: Basic` extra header);
 * anything else gets 401.
 *
 * The follow-up is tested after the first runner exited (short idle timeout): it must start a
 * new runner that fetches the existing session branch and continues on it.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { sealToken } from "../../app/auth/crypto.js";
import { upsertUser } from "../../app/db/accounts.js";
import { openDatabase, type Database } from "../../app/db/client.js";
import { users } from "../../app/db/schema.js";
import { listPrompts } from "../../app/db/prompts.js";
import { getSession, listSessions } from "../../app/db/sessions.js";
import type { Inspect } from "../../app/server.js";
import {
  basic,
  CLONE_THEN_PUSH,
  fakeGheEnv,
  gitConversation,
  startFakeGhe,
  type FakeGhe,
} from "../support/fake-ghe.js";
import { deliver, testInspect } from "../support/inspect.js";
import { startModelServer, textStep, toolStep, type ModelServer } from "../support/model-server.js";
import { issueComment } from "../support/payloads.js";
import { bareRepo, git, processesMentioning, waitForNoProcesses } from "../support/sandbox-harness.js";
import { ofType, until } from "../support/wait.js";

// ---------------------------------------------------------------------------------------------
// The stack
// ---------------------------------------------------------------------------------------------

const OWNER = "acme";
const REPO = "widgets";
const BOT_SLUG = "inspect-widgets";
const ISSUE = 12;
const BRANCH = `inspect/${ISSUE}-login-page-crashes`;
const ALICE_COMMENT = 5001;
const BOB_COMMENT = 5002;
const ALICE_OAUTH = "gho_alice_signed_in";

const root = mkdtempSync(path.join(os.tmpdir(), "inspect-ghflow-"));
const gitRoot = path.join(root, "git");
let bare: string;
let fake: FakeGhe;
let model: ModelServer;
let database: Database;
let inspect: Inspect;

const bareGit = (...args: string[]) => execFileSync("git", ["--git-dir", bare, ...args], { encoding: "utf8" }).trim();
const events = (id: string) => inspect.sessions.deps.events.list(id);

/** The token the app minted for git: scoped to this one repository, contents:write. */
function gitTokens(): string[] {
  return fake.tokens.filter((t) => t.body.repositories?.includes(REPO)).map((t) => t.token);
}

async function sessionOf(thread: number) {
  return (await listSessions(database.db)).filter((s) => s.threadNumber === thread);
}

beforeAll(async () => {
  bare = bareRepo(path.join(gitRoot, OWNER), REPO, {
    "README.md": "# widgets\n",
    "src/login.ts": "export const login = () => null;\n",
  });
  git(bare, "config", "http.receivepack", "true");
  fake = await startFakeGhe(gitRoot, bare, { owner: OWNER, repo: REPO, botSlug: BOT_SLUG, installationId: 77 });
  fake.permissions.set("alice", "write");
  fake.permissions.set("bob", "write");
  model = await startModelServer();
  database = await openDatabase({ dataDir: "memory://" });
  // Idle timeout 2 s: the first runner exits before the follow-up arrives, which must start a new one on the same branch.
  inspect = await testInspect(fakeGheEnv(fake, model, path.join(root, "data")), database);
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

describe("GitHub flow through a fake GitHub Enterprise host", () => {
  let sessionId: string;
  let firstSha: string;
  let prNumber: number;
  /** Where in the fake's git log the current phase's requests start. */
  let gitBefore = 0;

  it("is configured for the fake host: REST, clone URL and local runner", async () => {
    expect(inspect.config.runner.kind).toBe("local");
    expect(inspect.config.githubApp).not.toBeNull();
    expect(inspect.config.github.apiUrl).toBe(`${fake.webUrl}/api/v3`);
    // The fake refuses git without the minted token: what follows proves the token reached git.
    expect(await gitExitCode(["ls-remote", `${fake.webUrl}/${OWNER}/${REPO}.git`])).not.toBe(0);
    expect(fake.git.length).toBeGreaterThan(0);
    expect(fake.git.every((c) => c.status === 401 && c.auth === "")).toBe(true);
    gitBefore = fake.git.length;
  });

  it("a comment from alice on the issue: 👀, a status comment with the session link, a session", async () => {
    // Alice has signed in to Inspect's web page: her PR will be opened with her own token.
    const alice = await upsertUser(database.db, { login: "alice", githubId: 1001 });
    await database.db
      .update(users)
      .set({ oauthToken: sealToken(inspect.secret, ALICE_OAUTH) })
      .where(eq(users.id, alice.id));
    model.reset([
      toolStep({ name: "write", args: { filePath: "src/workaround.md", content: "Clear the cookie to log in.\n" } }),
      textStep("Documented the login workaround in src/workaround.md."),
    ]);
    const res = await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect document the login workaround", { issue: ISSUE, commentId: ALICE_COMMENT }),
    );
    expect(res.status).toBe(200);

    const session = await until("the session", async () => (await sessionOf(ISSUE))[0]);
    sessionId = session.id;
    expect(session).toMatchObject({ threadKind: "issue", baseBranch: "main", headBranch: BRANCH, headExists: false });

    await until("👀 on alice's comment", () =>
      fake
        .find("POST", new RegExp(`/issues/comments/${ALICE_COMMENT}/reactions$`))
        .some((c) => c.body.content === "eyes"),
    );
    const status = await until("the status comment", () =>
      fake.find("POST", new RegExp(`/issues/${ISSUE}/comments$`)).at(0),
    );
    expect(status.body.body).toContain(`[Follow the session live](https://inspect.test/sessions/${sessionId})`);
    expect(status.auth).toMatch(/^token ghs_fake/);
    expect(fake.find("GET", /\/collaborators\/alice\/permission$/).length).toBeGreaterThan(0);
  });

  it("the sandbox clones over HTTP with the minted token, OpenCode writes the file, alice's commit is pushed", async () => {
    const log = await until(
      "the first turn to finish",
      async () => {
        const l = await events(sessionId);
        return ofType(l, "prompt.finished").length >= 1 ? l : null;
      },
      90_000,
    );
    const finished = ofType(log, "prompt.finished")[0]!.data;
    expect(finished.status, JSON.stringify(ofType(log, "error"))).toBe("done");
    expect(finished.commits).toHaveLength(1);
    expect(finished.changedFiles).toBe(1);
    firstSha = finished.commits[0]!.sha;

    // The branch is in the bare repository behind the fake, on top of main.
    expect(bareGit("rev-parse", `refs/heads/${BRANCH}`)).toBe(firstSha);
    expect(bareGit("rev-parse", `${firstSha}^`)).toBe(bareGit("rev-parse", "refs/heads/main"));
    expect(bareGit("show", `${firstSha}:src/workaround.md`)).toBe("Clear the cookie to log in.");
    const [an, ae, cn, ce, subject] = bareGit("log", "-1", "--format=%an%n%ae%n%cn%n%ce%n%s", firstSha).split("\n");
    // GitHub Enterprise's no-reply domain (users.noreply.<host name>, no port), for the author as for the bot.
    expect({ an, ae }).toEqual({ an: "alice", ae: "1001+alice@users.noreply.127.0.0.1" });
    expect(cn).toBe(`${BOT_SLUG}[bot]`);
    expect(ce).toBe(`${BOT_SLUG}[bot]@users.noreply.127.0.0.1`);
    expect(subject).toBe("document the login workaround");
    expect(ofType(log, "git.push").map((e) => e.data)).toEqual([{ branch: BRANCH, sha: firstSha }]);

    // The git token: minted by the app for this repository only, contents:write.
    const minted = fake.tokens.filter((t) => t.body.repositories);
    expect(minted).toHaveLength(1);
    expect(minted[0]).toMatchObject({
      installationId: 77,
      body: { repositories: [REPO], permissions: { contents: "write" } },
    });
    // Every git request (clone, then push) carried exactly it, and nothing was refused.
    const sandboxGit = fake.git.slice(gitBefore);
    expect(gitConversation(sandboxGit)).toEqual(CLONE_THEN_PUSH);
    expect(new Set(sandboxGit.map((c) => c.auth))).toEqual(new Set([basic(gitTokens()[0]!)]));

    // The checkout came from the fake's clone URL and kept no credential.
    const checkout = path.join(root, "data", "runners", sessionId, "sessions", sessionId, "box", "repo");
    expect(existsSync(path.join(checkout, ".git", "config"))).toBe(true);
    const gitConfig = readFileSync(path.join(checkout, ".git", "config"), "utf8");
    expect(gitConfig).toContain(`url = ${fake.webUrl}/${OWNER}/${REPO}.git`);
    expect(gitConfig).not.toContain(gitTokens()[0]!);
    expect(gitConfig).not.toContain(basic(gitTokens()[0]!).slice(6));

    // The runner picked the prompt up: 🚀 on alice's comment.
    await until("🚀 on alice's comment", () =>
      fake
        .find("POST", new RegExp(`/issues/comments/${ALICE_COMMENT}/reactions$`))
        .some((c) => c.body.content === "rocket"),
    );
  }, 120_000);

  it("one draft PR closing the issue, a check run on the pushed head completed as success, the status comment links the PR", async () => {
    const created = await until("the PR", () => fake.find("POST", /\/pulls$/).at(0));
    expect(created.body).toMatchObject({ head: BRANCH, base: "main", draft: true, title: "Login page crashes" });
    expect(created.body.body).toContain(`Closes #${ISSUE}`);
    // Opened by alice, with her own token: the PR is hers, and she cannot approve her agent's work.
    expect(created.auth).toBe(`token ${ALICE_OAUTH}`);
    prNumber = [...fake.pulls.keys()][0]!;
    const prUrl = `${fake.webUrl}/${OWNER}/${REPO}/pull/${prNumber}`;
    await until(
      "the session to record the PR",
      async () => (await getSession(database.db, sessionId))?.prNumber === prNumber,
    );
    expect((await getSession(database.db, sessionId))?.prUrl).toBe(prUrl);

    const check = await until("the check run", () => fake.find("POST", /\/check-runs$/).at(0));
    expect(check.body).toMatchObject({
      name: "Inspect",
      head_sha: firstSha,
      details_url: `https://inspect.test/sessions/${sessionId}`,
    });
    const checkId = await until("the check run id", async () => (await getSession(database.db, sessionId))?.checkRunId);
    const completed = await until("the check run to complete", () =>
      fake.find("PATCH", new RegExp(`/check-runs/${checkId}$`)).find((c) => c.body.status === "completed"),
    );
    expect(completed.body.conclusion).toBe("success");

    await until("the status comment to link the PR", () =>
      fake.find("PATCH", /\/issues\/comments\/\d+$/).some((c) => c.body.body.includes(prUrl)),
    );

    // The runner goes idle, then exits: completed, and nothing of it is left running.
    await until(
      "the session to complete",
      async () => (await getSession(database.db, sessionId))?.status === "completed",
      30_000,
    );
    expect(await waitForNoProcesses(root, 15_000)).toEqual([]);
    expect(fake.find("POST", /\/pulls$/)).toHaveLength(1);
  });

  it("bob's follow-up on the PR lands as a second commit on the same branch and PR, in the same session", async () => {
    model.reset([
      toolStep({ name: "read", args: { filePath: "src/workaround.md" } }),
      toolStep({
        name: "edit",
        args: { filePath: "src/workaround.md", oldString: "Clear the cookie", newString: "Clear the session cookie" },
      }),
      textStep("Made the workaround more precise."),
    ]);
    gitBefore = fake.git.length;
    const followUp = issueComment("@inspect say which cookie", {
      issue: prNumber,
      pr: true,
      login: "bob",
      commentId: BOB_COMMENT,
    });
    followUp.sender.id = 1002;
    const res = await deliver(inspect, "issue_comment", followUp);
    expect(res.status).toBe(200);

    await until("👀 on bob's comment", () =>
      fake
        .find("POST", new RegExp(`/issues/comments/${BOB_COMMENT}/reactions$`))
        .some((c) => c.body.content === "eyes"),
    );
    const log = await until(
      "the second turn to finish",
      async () => {
        const l = await events(sessionId);
        return ofType(l, "prompt.finished").length >= 2 ? l : null;
      },
      90_000,
    );
    const second = ofType(log, "prompt.finished")[1]!.data;
    expect(second.status, JSON.stringify(ofType(log, "error"))).toBe("done");
    expect(second.commits).toHaveLength(1);
    const secondSha = second.commits[0]!.sha;

    // Same session: no session for the PR thread, two prompts, the second one bob's.
    expect(await sessionOf(prNumber)).toEqual([]);
    expect((await listPrompts(database.db, sessionId)).map((p) => [p.authorLogin, p.status])).toEqual([
      ["alice", "done"],
      ["bob", "done"],
    ]);

    // The branch moved forward by bob's commit on top of alice's.
    expect(bareGit("rev-parse", `refs/heads/${BRANCH}`)).toBe(secondSha);
    expect(bareGit("rev-parse", `${secondSha}^`)).toBe(firstSha);
    expect(bareGit("show", `${secondSha}:src/workaround.md`)).toBe("Clear the session cookie to log in.");
    const [an, ae, cn] = bareGit("log", "-1", "--format=%an%n%ae%n%cn", secondSha).split("\n");
    expect({ an, ae, cn }).toEqual({ an: "bob", ae: "1002+bob@users.noreply.127.0.0.1", cn: `${BOT_SLUG}[bot]` });

    // A second runner fetched the existing branch and pushed, again only with a minted token.
    const runs = fake.git.slice(gitBefore);
    expect(gitConversation(runs)).toEqual(CLONE_THEN_PUSH);
    const tokens = gitTokens();
    expect(tokens).toHaveLength(2);
    expect(new Set(runs.map((c) => c.auth))).toEqual(new Set([basic(tokens[1]!)]));

    // No second PR; its body now tells both prompts, with bob's commit.
    expect(fake.find("POST", /\/pulls$/)).toHaveLength(1);
    expect(fake.pulls.size).toBe(1);
    await until("the PR body to mention bob's commit", () =>
      fake.pulls.get(prNumber)!.body.includes(secondSha.slice(0, 7)),
    );
    const body = fake.pulls.get(prNumber)!.body;
    expect(body).toContain("@bob: say which cookie");
    expect(body).toContain(`@alice: document the login workaround — \`${firstSha.slice(0, 7)}\``);
    expect(body).toContain(`Closes #${ISSUE}`);
    expect(fake.find("PATCH", new RegExp(`/pulls/${prNumber}$`)).length).toBeGreaterThanOrEqual(2);

    // 🚀 on bob's comment; the check run moved to bob's commit and completed.
    await until("🚀 on bob's comment", () =>
      fake
        .find("POST", new RegExp(`/issues/comments/${BOB_COMMENT}/reactions$`))
        .some((c) => c.body.content === "rocket"),
    );
    const onSecond = await until("a check run on the new head", () =>
      fake.find("POST", /\/check-runs$/).find((c) => c.body.head_sha === secondSha),
    );
    expect(onSecond.body.name).toBe("Inspect");
    const checkId = await until("the new check run id", async () => {
      const s = await getSession(database.db, sessionId);
      return s?.checkRunSha === secondSha && s.checkRunId;
    });
    await until("the new check run to complete as success", () =>
      fake
        .find("PATCH", new RegExp(`/check-runs/${checkId}$`))
        .some((c) => c.body.status === "completed" && c.body.conclusion === "success"),
    );
  }, 120_000);

  it("ends with the session completed and no sandbox or OpenCode process left", async () => {
    await until(
      "the session to complete again",
      async () => (await getSession(database.db, sessionId))?.status === "completed",
      30_000,
    );
    expect(await waitForNoProcesses(root, 15_000)).toEqual([]);
  });

  it("made every REST call as the app (JWT) or as installation 77 — but alice's PR, opened as alice — never with the repository-scoped git token", () => {
    const installationTokens = fake.tokens
      .filter((t) => t.installationId === 77 && !t.body.repositories)
      .map((t) => `token ${t.token}`);
    const asAlice = fake.rest.filter((c) => c.auth === `token ${ALICE_OAUTH}`);
    expect(asAlice.map((c) => `${c.method} ${c.path}`)).toEqual([`POST /repos/${OWNER}/${REPO}/pulls`]);
    const wrong = fake.rest.filter((c) =>
      c.path === "/app" || c.path.startsWith("/app/installations/")
        ? !/^bearer ey/i.test(c.auth)
        : !installationTokens.includes(c.auth) && !asAlice.includes(c),
    );
    expect(fake.rest.length).toBeGreaterThan(10);
    expect(wrong.map((c) => `${c.method} ${c.path} (${c.auth.slice(0, 14)}…)`)).toEqual([]);
  });
});

/** Exit code of a git command run without any credential (async: the fake serves from this process). */
function gitExitCode(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn("git", args, {
      stdio: "ignore",
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    });
    child.on("close", (code) => resolve(code));
  });
}
