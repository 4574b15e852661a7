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
 * The fake host is one loopback HTTP server serving both `/api/v3/...` (REST, recorded) and
 * `/{owner}/{repo}.git/...` through `git http-backend` (CGI) over a local bare repository. Git
 * requests must carry the installation token the app minted for this repository (the sandbox
 * sends it as an `Authorization: Basic` extra header); anything else gets 401.
 *
 * The follow-up is tested after the first runner exited (short idle timeout): it must start a
 * new runner that fetches the existing session branch and continues on it.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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
import type { SessionEvent } from "../../app/protocol/events.js";
import type { Inspect } from "../../app/server.js";
import { deliver, githubEnv, testInspect } from "../support/inspect.js";
import { startModelServer, textStep, toolStep, type ModelServer } from "../support/model-server.js";
import { issueComment } from "../support/payloads.js";
import { bareRepo, git, processesMentioning, waitForNoProcesses } from "../support/sandbox-harness.js";

// ---------------------------------------------------------------------------------------------
// The fake GitHub Enterprise host
// ---------------------------------------------------------------------------------------------

interface RestCall {
  method: string;
  path: string;
  query: URLSearchParams;
  body: any;
  /** Authorization header as sent: `bearer <jwt>` (app) or `token <installation token>`. */
  auth: string;
}

interface GitCall {
  method: string;
  /** Path under the repository, e.g. /info/refs or /git-receive-pack. */
  path: string;
  service: string | null;
  auth: string;
  status: number;
}

interface MintedToken {
  token: string;
  installationId: number;
  body: any;
}

interface FakePull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

const OWNER = "acme";
const REPO = "widgets";
const BOT_SLUG = "inspect-widgets";

interface FakeGhe {
  port: number;
  host: string;
  webUrl: string;
  rest: RestCall[];
  git: GitCall[];
  tokens: MintedToken[];
  pulls: Map<number, FakePull>;
  permissions: Map<string, string>;
  find(method: string, re: RegExp): RestCall[];
  close(): Promise<void>;
}

async function startFakeGhe(gitRoot: string, bareDir: string): Promise<FakeGhe> {
  const rest: RestCall[] = [];
  const gitCalls: GitCall[] = [];
  const tokens: MintedToken[] = [];
  const pulls = new Map<number, FakePull>();
  const permissions = new Map<string, string>();
  let nextId = 7000;
  let port = 0;
  const webUrl = () => `http://127.0.0.1:${port}`;
  const branchSha = (branch: string): string | null => {
    try {
      return execFileSync("git", ["--git-dir", bareDir, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], { encoding: "utf8" }).trim();
    } catch {
      return null;
    }
  };
  const pullJson = (p: FakePull) => ({
    number: p.number,
    state: "open",
    draft: p.draft,
    title: p.title,
    body: p.body,
    html_url: `${webUrl()}/${OWNER}/${REPO}/pull/${p.number}`,
    head: { ref: p.head, sha: branchSha(p.head), repo: { full_name: `${OWNER}/${REPO}` } },
    base: { ref: p.base, sha: branchSha(p.base), repo: { full_name: `${OWNER}/${REPO}` } },
  });

  type Route = [string, RegExp, (m: RegExpMatchArray, call: RestCall) => [number, unknown?]];
  const repo = `/repos/${OWNER}/${REPO}`;
  const routes: Route[] = [
    ["POST", /^\/app\/installations\/(\d+)\/access_tokens$/, (m, call) => {
      const token = `ghs_fake${String(++nextId).padStart(8, "0")}`;
      tokens.push({ token, installationId: Number(m[1]), body: call.body ?? {} });
      return [201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: call.body?.permissions ?? { contents: "write", issues: "write", pull_requests: "write", checks: "write" }, repository_selection: "selected" }];
    }],
    ["GET", /^\/app$/, () => [200, { id: 1, slug: BOT_SLUG, name: "Inspect" }]],
    ["GET", new RegExp(`^${repo}$`), () => [200, { id: 4242, name: REPO, full_name: `${OWNER}/${REPO}`, default_branch: "main", private: true }]],
    ["GET", new RegExp(`^${repo}/collaborators/([^/]+)/permission$`), (m) => {
      const permission = permissions.get(m[1]!) ?? "none";
      return [200, { permission, role_name: permission, user: { login: m[1] } }];
    }],
    ["POST", new RegExp(`^${repo}/issues/comments/\\d+/reactions$`), (_m, call) => [201, { id: ++nextId, content: call.body?.content }]],
    ["POST", new RegExp(`^${repo}/issues/\\d+/reactions$`), (_m, call) => [201, { id: ++nextId, content: call.body?.content }]],
    ["POST", new RegExp(`^${repo}/issues/(\\d+)/comments$`), (m, call) => {
      const id = ++nextId;
      return [201, { id, body: call.body?.body, html_url: `${webUrl()}/${OWNER}/${REPO}/issues/${m[1]}#issuecomment-${id}` }];
    }],
    ["PATCH", new RegExp(`^${repo}/issues/comments/(\\d+)$`), (m, call) => [200, { id: Number(m[1]), body: call.body?.body }]],
    ["POST", new RegExp(`^${repo}/pulls$`), (_m, call) => {
      const b = call.body ?? {};
      // As GitHub: the head branch must exist, and one open PR per head.
      if (!branchSha(b.head)) return [422, { message: "Validation Failed", errors: [{ resource: "PullRequest", field: "head", code: "invalid" }] }];
      if ([...pulls.values()].some((p) => p.head === b.head)) return [422, { message: "Validation Failed", errors: [{ message: `A pull request already exists for ${OWNER}:${b.head}.` }] }];
      const number = ++nextId;
      const pr: FakePull = { number, head: b.head, base: b.base, title: b.title, body: b.body, draft: Boolean(b.draft) };
      pulls.set(number, pr);
      return [201, pullJson(pr)];
    }],
    ["GET", new RegExp(`^${repo}/pulls$`), (_m, call) => {
      const head = call.query.get("head")?.split(":").pop();
      return [200, [...pulls.values()].filter((p) => !head || p.head === head).map(pullJson)];
    }],
    ["GET", new RegExp(`^${repo}/pulls/(\\d+)$`), (m) => {
      const pr = pulls.get(Number(m[1]));
      return pr ? [200, pullJson(pr)] : [404, { message: "Not Found" }];
    }],
    ["PATCH", new RegExp(`^${repo}/pulls/(\\d+)$`), (m, call) => {
      const pr = pulls.get(Number(m[1]));
      if (!pr) return [404, { message: "Not Found" }];
      if (typeof call.body?.body === "string") pr.body = call.body.body;
      return [200, pullJson(pr)];
    }],
    ["POST", new RegExp(`^${repo}/check-runs$`), (_m, call) => [201, { id: ++nextId, name: call.body?.name, head_sha: call.body?.head_sha, status: call.body?.status }]],
    ["PATCH", new RegExp(`^${repo}/check-runs/(\\d+)$`), (m, call) => [200, { id: Number(m[1]), status: call.body?.status, conclusion: call.body?.conclusion ?? null }]],
  ];

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL) {
    const raw = await readBody(req);
    let body: any = undefined;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        body = raw.toString("utf8");
      }
    }
    const call: RestCall = { method: req.method ?? "GET", path: url.pathname.slice("/api/v3".length), query: url.searchParams, body, auth: String(req.headers.authorization ?? "") };
    rest.push(call);
    for (const [method, re, fn] of routes) {
      if (method !== call.method) continue;
      const m = call.path.match(re);
      if (!m) continue;
      const [status, payload] = fn(m, call);
      res.writeHead(status, { "content-type": "application/json" });
      return res.end(payload === undefined ? "" : JSON.stringify(payload));
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: `fake GHE: no route for ${call.method} ${call.path}` }));
  }

  /** Git smart HTTP through `git http-backend`, only with a token minted for this repository. */
  function handleGit(req: IncomingMessage, res: ServerResponse, url: URL, repoPath: string, rest: string) {
    const auth = String(req.headers.authorization ?? "");
    const call: GitCall = { method: req.method ?? "GET", path: rest, service: url.searchParams.get("service"), auth, status: 0 };
    gitCalls.push(call);
    const allowed = tokens
      .filter((t) => t.installationId === 77 && Array.isArray(t.body.repositories) && t.body.repositories.includes(REPO) && t.body.permissions?.contents === "write")
      .map((t) => `Basic ${Buffer.from(`x-access-token:${t.token}`).toString("base64")}`);
    if (repoPath !== `/${OWNER}/${REPO}.git` || !allowed.includes(auth)) {
      req.resume();
      call.status = 401;
      res.writeHead(401, { "www-authenticate": 'Basic realm="fake GitHub"', "content-type": "text/plain" });
      return res.end("Unauthorized\n");
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: gitRoot,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_PROJECT_ROOT: gitRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: `${repoPath}${rest}`,
      QUERY_STRING: url.search.replace(/^\?/, ""),
      CONTENT_TYPE: String(req.headers["content-type"] ?? ""),
      REMOTE_USER: "x-access-token",
      REMOTE_ADDR: "127.0.0.1",
    };
    if (req.headers["content-length"]) env.CONTENT_LENGTH = String(req.headers["content-length"]);
    if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
    if (req.headers["git-protocol"]) env.HTTP_GIT_PROTOCOL = String(req.headers["git-protocol"]);
    const cgi = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    let stderr = "";
    cgi.stderr.on("data", (c) => (stderr += c));
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      call.status = status;
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", (code) => {
      if (!headersDone) {
        call.status = 500;
        res.writeHead(500, { "content-type": "text/plain" });
        return res.end(`git http-backend exited ${code}: ${stderr}`);
      }
      res.end();
    });
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const gitMatch = url.pathname.match(/^(\/[^/]+\/[^/]+\.git)(\/.*)$/);
    const work = url.pathname.startsWith("/api/v3/")
      ? handleRest(req, res, url)
      : gitMatch
        ? Promise.resolve(handleGit(req, res, url, gitMatch[1]!, gitMatch[2]!))
        : Promise.resolve(void res.writeHead(404).end());
    work.catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  return {
    port,
    host: `127.0.0.1:${port}`,
    webUrl: webUrl(),
    rest,
    git: gitCalls,
    tokens,
    pulls,
    permissions,
    find: (method, re) => rest.filter((c) => c.method === method && re.test(c.path)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The stack
// ---------------------------------------------------------------------------------------------

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

/** Poll until `check` returns something truthy; fail with `what` (and the check's last error) otherwise. */
async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const bareGit = (...args: string[]) => execFileSync("git", ["--git-dir", bare, ...args], { encoding: "utf8" }).trim();
const events = (id: string) => inspect.sessions.deps.events.list(id);
const ofType = <T extends SessionEvent["type"]>(log: SessionEvent[], type: T) => log.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
const basic = (token: string) => `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;

/** The token the app minted for git: scoped to this one repository, contents:write. */
function gitTokens(): string[] {
  return fake.tokens.filter((t) => t.body.repositories?.includes(REPO)).map((t) => t.token);
}

async function sessionOf(thread: number) {
  return (await listSessions(database.db)).filter((s) => s.threadNumber === thread);
}

beforeAll(async () => {
  bare = bareRepo(path.join(gitRoot, OWNER), REPO, { "README.md": "# widgets\n", "src/login.ts": "export const login = () => null;\n" });
  git(bare, "config", "http.receivepack", "true");
  fake = await startFakeGhe(gitRoot, bare);
  fake.permissions.set("alice", "write");
  fake.permissions.set("bob", "write");
  model = await startModelServer();
  database = await openDatabase({ dataDir: "memory://" });
  inspect = await testInspect(
    githubEnv({
      GHE_HOST: fake.host,
      GHE_PROTOCOL: "http",
      INSPECT_RUNNER: "local",
      INSPECT_DATA_DIR: path.join(root, "data"),
      INSPECT_MODEL: "scripted/scripted-model",
      INSPECT_OPENCODE_CONFIG: JSON.stringify({ provider: model.opencodeProvider() }),
      // Short: the first runner exits before the follow-up arrives, which must start a new one on the same branch.
      INSPECT_IDLE_TIMEOUT: "2",
      INSPECT_SETUP_TIMEOUT: "30",
      INSPECT_HEARTBEAT_TIMEOUT: "30",
    }),
    database,
  );
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
    await database.db.update(users).set({ oauthToken: sealToken(inspect.secret, ALICE_OAUTH) }).where(eq(users.id, alice.id));
    model.reset([
      toolStep({ name: "write", args: { filePath: "src/workaround.md", content: "Clear the cookie to log in.\n" } }),
      textStep("Documented the login workaround in src/workaround.md."),
    ]);
    const res = await deliver(inspect, "issue_comment", issueComment("@inspect document the login workaround", { issue: ISSUE, commentId: ALICE_COMMENT }));
    expect(res.status).toBe(200);

    const session = await until("the session", async () => (await sessionOf(ISSUE))[0]);
    sessionId = session.id;
    expect(session).toMatchObject({ threadKind: "issue", baseBranch: "main", headBranch: BRANCH, headExists: false });

    await until("👀 on alice's comment", () => fake.find("POST", new RegExp(`/issues/comments/${ALICE_COMMENT}/reactions$`)).some((c) => c.body.content === "eyes"));
    const status = await until("the status comment", () => fake.find("POST", new RegExp(`/issues/${ISSUE}/comments$`)).at(0));
    expect(status.body.body).toContain(`[Follow the session live](https://inspect.test/sessions/${sessionId})`);
    expect(status.auth).toMatch(/^token ghs_fake/);
    expect(fake.find("GET", /\/collaborators\/alice\/permission$/).length).toBeGreaterThan(0);
  });

  it("the sandbox clones over HTTP with the minted token, OpenCode writes the file, alice's commit is pushed", async () => {
    const log = await until("the first turn to finish", async () => {
      const l = await events(sessionId);
      return ofType(l, "prompt.finished").length >= 1 ? l : null;
    }, 90_000);
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
    expect(minted[0]).toMatchObject({ installationId: 77, body: { repositories: [REPO], permissions: { contents: "write" } } });
    // Every git request (clone, then push) carried exactly it, and nothing was refused.
    const sandboxGit = fake.git.slice(gitBefore);
    expect(gitConversation(sandboxGit)).toEqual(CLONE_THEN_PUSH);
    expect(new Set(sandboxGit.map((c) => c.auth))).toEqual(new Set([basic(gitTokens()[0]!)]));

    // The checkout came from the fake's clone URL and kept no credential.
    const checkout = path.join(root, "data", "runners", sessionId, "sessions", sessionId, "repo");
    expect(existsSync(path.join(checkout, ".git", "config"))).toBe(true);
    const gitConfig = readFileSync(path.join(checkout, ".git", "config"), "utf8");
    expect(gitConfig).toContain(`url = ${fake.webUrl}/${OWNER}/${REPO}.git`);
    expect(gitConfig).not.toContain(gitTokens()[0]!);
    expect(gitConfig).not.toContain(basic(gitTokens()[0]!).slice(6));

    // The runner picked the prompt up: 🚀 on alice's comment.
    await until("🚀 on alice's comment", () => fake.find("POST", new RegExp(`/issues/comments/${ALICE_COMMENT}/reactions$`)).some((c) => c.body.content === "rocket"));
  }, 120_000);

  it("one draft PR closing the issue, a check run on the pushed head completed as success, the status comment links the PR", async () => {
    const created = await until("the PR", () => fake.find("POST", /\/pulls$/).at(0));
    expect(created.body).toMatchObject({ head: BRANCH, base: "main", draft: true, title: "Login page crashes" });
    expect(created.body.body).toContain(`Closes #${ISSUE}`);
    // Opened by alice, with her own token: the PR is hers, and she cannot approve her agent's work.
    expect(created.auth).toBe(`token ${ALICE_OAUTH}`);
    prNumber = [...fake.pulls.keys()][0]!;
    const prUrl = `${fake.webUrl}/${OWNER}/${REPO}/pull/${prNumber}`;
    await until("the session to record the PR", async () => (await getSession(database.db, sessionId))?.prNumber === prNumber);
    expect((await getSession(database.db, sessionId))?.prUrl).toBe(prUrl);

    const check = await until("the check run", () => fake.find("POST", /\/check-runs$/).at(0));
    expect(check.body).toMatchObject({ name: "Inspect", head_sha: firstSha, details_url: `https://inspect.test/sessions/${sessionId}` });
    const checkId = await until("the check run id", async () => (await getSession(database.db, sessionId))?.checkRunId);
    const completed = await until("the check run to complete", () =>
      fake.find("PATCH", new RegExp(`/check-runs/${checkId}$`)).find((c) => c.body.status === "completed"),
    );
    expect(completed.body.conclusion).toBe("success");

    await until("the status comment to link the PR", () => fake.find("PATCH", /\/issues\/comments\/\d+$/).some((c) => c.body.body.includes(prUrl)));

    // The runner goes idle, then exits: completed, and nothing of it is left running.
    await until("the session to complete", async () => (await getSession(database.db, sessionId))?.status === "completed", 30_000);
    expect(await waitForNoProcesses(root, 15_000)).toEqual([]);
    expect(fake.find("POST", /\/pulls$/)).toHaveLength(1);
  });

  it("bob's follow-up on the PR lands as a second commit on the same branch and PR, in the same session", async () => {
    model.reset([
      toolStep({ name: "read", args: { filePath: "src/workaround.md" } }),
      toolStep({ name: "edit", args: { filePath: "src/workaround.md", oldString: "Clear the cookie", newString: "Clear the session cookie" } }),
      textStep("Made the workaround more precise."),
    ]);
    gitBefore = fake.git.length;
    const followUp = issueComment("@inspect say which cookie", { issue: prNumber, pr: true, login: "bob", commentId: BOB_COMMENT });
    followUp.sender.id = 1002;
    const res = await deliver(inspect, "issue_comment", followUp);
    expect(res.status).toBe(200);

    await until("👀 on bob's comment", () => fake.find("POST", new RegExp(`/issues/comments/${BOB_COMMENT}/reactions$`)).some((c) => c.body.content === "eyes"));
    const log = await until("the second turn to finish", async () => {
      const l = await events(sessionId);
      return ofType(l, "prompt.finished").length >= 2 ? l : null;
    }, 90_000);
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
    await until("the PR body to mention bob's commit", () => fake.pulls.get(prNumber)!.body.includes(secondSha.slice(0, 7)));
    const body = fake.pulls.get(prNumber)!.body;
    expect(body).toContain("@bob: say which cookie");
    expect(body).toContain(`@alice: document the login workaround — \`${firstSha.slice(0, 7)}\``);
    expect(body).toContain(`Closes #${ISSUE}`);
    expect(fake.find("PATCH", new RegExp(`/pulls/${prNumber}$`)).length).toBeGreaterThanOrEqual(2);

    // 🚀 on bob's comment; the check run moved to bob's commit and completed.
    await until("🚀 on bob's comment", () => fake.find("POST", new RegExp(`/issues/comments/${BOB_COMMENT}/reactions$`)).some((c) => c.body.content === "rocket"));
    const onSecond = await until("a check run on the new head", () => fake.find("POST", /\/check-runs$/).find((c) => c.body.head_sha === secondSha));
    expect(onSecond.body.name).toBe("Inspect");
    const checkId = await until("the new check run id", async () => {
      const s = await getSession(database.db, sessionId);
      return s?.checkRunSha === secondSha && s.checkRunId;
    });
    await until("the new check run to complete as success", () =>
      fake.find("PATCH", new RegExp(`/check-runs/${checkId}$`)).some((c) => c.body.status === "completed" && c.body.conclusion === "success"),
    );
  }, 120_000);

  it("ends with the session completed and no sandbox or OpenCode process left", async () => {
    await until("the session to complete again", async () => (await getSession(database.db, sessionId))?.status === "completed", 30_000);
    expect(await waitForNoProcesses(root, 15_000)).toEqual([]);
  });

  it("made every REST call as the app (JWT) or as installation 77 — but alice's PR, opened as alice — never with the repository-scoped git token", () => {
    const installationTokens = fake.tokens.filter((t) => t.installationId === 77 && !t.body.repositories).map((t) => `token ${t.token}`);
    const asAlice = fake.rest.filter((c) => c.auth === `token ${ALICE_OAUTH}`);
    expect(asAlice.map((c) => `${c.method} ${c.path}`)).toEqual([`POST /repos/${OWNER}/${REPO}/pulls`]);
    const wrong = fake.rest.filter((c) =>
      c.path === "/app" || c.path.startsWith("/app/installations/") ? !/^bearer ey/i.test(c.auth) : !installationTokens.includes(c.auth) && !asAlice.includes(c),
    );
    expect(fake.rest.length).toBeGreaterThan(10);
    expect(wrong.map((c) => `${c.method} ${c.path} (${c.auth.slice(0, 14)}…)`)).toEqual([]);
  });
});

/**
 * The git requests of one runner, consecutive repeats folded (protocol v2 posts to
 * git-upload-pack more than once: ls-refs, then fetch).
 */
function gitConversation(calls: GitCall[]): string[] {
  const lines = calls.map((c) => `${c.method} ${c.path}${c.service ? `?service=${c.service}` : ""} → ${c.status}`);
  return lines.filter((line, i) => line !== lines[i - 1]);
}
const CLONE_THEN_PUSH = [
  "GET /info/refs?service=git-upload-pack → 200",
  "POST /git-upload-pack → 200",
  "GET /info/refs?service=git-receive-pack → 200",
  "POST /git-receive-pack → 200",
];

/** Exit code of a git command run without any credential (async: the fake serves from this process). */
function gitExitCode(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn("git", args, { stdio: "ignore", env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } });
    child.on("close", (code) => resolve(code));
  });
}
