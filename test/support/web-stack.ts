/**
 * The whole live-session stack for web tests: the real app (createInspect on PGlite),
 * the real room server (`partykit dev`), and GitHub faked at the HTTP boundary.
 * With `githubApp`, Inspect also runs as the GitHub App (installed on acme/widgets and the
 * runner repository acme/inspect-runner) with runners dispatched as Actions workflows, so
 * starting and warming sessions from the web go through their real paths.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../app/config.js";
import { upsertRepository, upsertUser, type RepositoryRow } from "../../app/db/accounts.js";
import { insertSession, type NewSessionRow } from "../../app/db/sessions.js";
import type { NewEvent } from "../../protocol/events.js";
import { startRoomDevServer, type RoomDevServer } from "../../app/rooms/dev-server.js";
import { createInspect, type Inspect } from "../../app/server.js";
import { appPrivateKey, TestOctokit, WEBHOOK_SECRET } from "./inspect.js";
import { startFakeOAuthGitHub, type FakeOAuthGitHub, type FakeOAuthGitHubOptions } from "./fake-github-oauth.js";
import { freePort } from "./ports.js";

export interface WebStack {
  inspect: Inspect;
  github: FakeOAuthGitHub;
  rooms: RoomDevServer | null;
  url: string;
  repo: RepositoryRow;
  /** A session on its own issue (on acme/widgets unless `repositoryId` is given), running, created by `login`. */
  createSession(id: string, title: string, login?: string, extra?: Partial<NewSessionRow>): Promise<void>;
  /** The control plane's own append: persist, then forward to the room. */
  append(sessionId: string, events: NewEvent[]): Promise<void>;
  close(): Promise<void>;
}

export const ROOM_SECRET = "web-stack-room-secret-0123456789";
/** With `githubApp`: where runner workflows are dispatched. */
export const RUNNER_REPO = "acme/inspect-runner";

export interface WebStackOptions {
  withRooms?: boolean;
  /** Repositories GitHub calls public (see the fake's `publicRepos`); acme/widgets among them is stored as public too. */
  publicRepos?: string[];
  /** More configuration, e.g. INSPECT_PUBLIC_SESSIONS. */
  env?: Record<string, string>;
  /** Run as the GitHub App, runners dispatched as workflows on RUNNER_REPO (see the fake's `dispatches`). */
  githubApp?: boolean;
  /** With `githubApp`: more repositories the App is installed on ("owner/name" → id). */
  installedRepos?: Record<string, number>;
  /** Where the app's log lines go, and from which level (default: nowhere below fatal). */
  log?: { level: "warn" | "info" | "debug"; destination: { write(line: string): void } };
}

export async function startWebStack(
  access: FakeOAuthGitHubOptions["access"],
  opts: WebStackOptions = {},
): Promise<WebStack> {
  const app = opts.githubApp
    ? { installationId: 77, repos: { "acme/widgets": 42, [RUNNER_REPO]: 4100, ...opts.installedRepos } }
    : undefined;
  const github = await startFakeOAuthGitHub({
    clientId: "client-id",
    clientSecret: "client-secret",
    access,
    app,
    publicRepos: opts.publicRepos,
  });
  const rooms =
    opts.withRooms === false
      ? null
      : await startRoomDevServer({ port: await freePort(), secret: ROOM_SECRET, persistDir: false });
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "inspect-web-"));
  const config = loadConfig({
    PORT: String(port),
    INSPECT_PUBLIC_URL: `http://127.0.0.1:${port}`,
    INSPECT_DATA_DIR: dataDir,
    INSPECT_SECRET: "web-stack-app-secret-0123456789-0123456789",
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    GITHUB_CLIENT_ID: "client-id",
    GITHUB_CLIENT_SECRET: "client-secret",
    // With no room server, point at a closed port: the page must fall back to the API.
    INSPECT_PARTY_URL: rooms ? rooms.url : `http://127.0.0.1:${await freePort()}`,
    INSPECT_ROOM_SECRET: ROOM_SECRET,
    INSPECT_POOL_SIZE: "0",
    // No browser unless a test asks for one: it adds an MCP server to every OpenCode boot.
    INSPECT_BROWSER: "off",
    ...(app
      ? {
          APP_ID: "1",
          PRIVATE_KEY: appPrivateKey(),
          WEBHOOK_SECRET,
          INSPECT_RUNNER: "actions",
          INSPECT_RUNNER_REPO: RUNNER_REPO,
        }
      : {}),
    ...opts.env,
  });
  const inspect = await createInspect(config, {
    logLevel: opts.log?.level ?? (process.env.WEB_STACK_LOG as "warn" | undefined) ?? "fatal",
    logDestination: opts.log?.destination,
    Octokit: TestOctokit,
  });
  await inspect.listen(port, "127.0.0.1");
  const db = inspect.database.db;
  const repo = await upsertRepository(db, {
    owner: "acme",
    name: "widgets",
    githubId: 42,
    private: !opts.publicRepos?.includes("acme/widgets"),
  });
  let thread = 6; // one live session per thread: each gets its own issue, #7 first
  return {
    inspect,
    github,
    rooms,
    url: `http://127.0.0.1:${port}`,
    repo,
    async createSession(id, title, login = "alice", extra = {}) {
      const user = await upsertUser(db, { login, avatarUrl: `${github.url}/avatars/${login}.svg` });
      await insertSession(db, {
        id,
        repositoryId: repo.id,
        threadKind: "issue",
        threadNumber: ++thread,
        title,
        status: "running",
        baseBranch: "main",
        headBranch: `inspect/${id}`,
        createdByUserId: user.id,
        ...extra,
      });
    },
    async append(sessionId, events) {
      await inspect.sessions.deps.events.append(sessionId, events);
    },
    async close() {
      await inspect.close();
      await rooms?.stop();
      await github.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Sign in over HTTP as a browser would (following the OAuth redirects); returns the Cookie header. */
export async function signIn(stack: WebStack, login: string): Promise<string> {
  const start = await fetch(`${stack.url}/auth/login?returnTo=/`, { redirect: "manual" });
  const stateCookie = start.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const authorize = new URL(start.headers.get("location")!);
  authorize.searchParams.set("login", login);
  const atGitHub = await fetch(authorize, { redirect: "manual" });
  const callback = await fetch(atGitHub.headers.get("location")!, {
    redirect: "manual",
    headers: { cookie: stateCookie },
  });
  if (callback.status !== 302) throw new Error(`sign-in failed: ${callback.status} ${await callback.text()}`);
  const session = callback.headers.getSetCookie().find((c) => c.startsWith("inspect_session="));
  if (!session) throw new Error("no session cookie");
  return session.split(";")[0]!;
}
