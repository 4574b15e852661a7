/**
 * The control plane in GitHub mode for a test file: one PGlite per file, a
 * local OIDC issuer, GitHub faked at the HTTP boundary (fresh per test), a
 * fresh app per test, and a runner client speaking the runner API.
 */
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { openDatabase, type Database } from "../../app/db/client.js";
import type { Inspect, InspectOptions } from "../../app/server.js";
import { FakeGitHub } from "./fake-github.js";
import { githubEnv, testInspect } from "./inspect.js";
import { startIssuer, type TestIssuer } from "./oidc-issuer.js";
import { runnerClient } from "./runner-client.js";

export interface GitHubStackOptions {
  env?: Record<string, string>;
  /** Collaborator permissions the fake answers, by login. */
  permissions?: Record<string, string>;
  /** Extra routes for each test's fake GitHub. */
  routes?: (gh: FakeGitHub) => void;
}

export interface GitHubStack {
  database: Database;
  issuer: TestIssuer;
  inspect: Inspect;
  gh: FakeGitHub;
  runner: ReturnType<typeof runnerClient>;
  /** Replace this test's app with one built with other options. */
  restart(opts: InspectOptions): Promise<Inspect>;
}

export function useGitHubStack(opts: GitHubStackOptions = {}): GitHubStack {
  const env = () => githubEnv({ INSPECT_OIDC_ISSUER: stack.issuer.url, ...opts.env });
  const stack = {
    runner: runnerClient(
      () => stack.inspect,
      () => stack.issuer,
      (id) => stack.gh.runFor(id),
    ),
    async restart(options: InspectOptions) {
      await stack.inspect.close();
      stack.inspect = await testInspect(env(), stack.database, options);
      return stack.inspect;
    },
  } as GitHubStack;

  beforeAll(async () => {
    stack.database = await openDatabase({ dataDir: "memory://" });
    stack.issuer = await startIssuer();
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
  });
  afterAll(async () => {
    nock.enableNetConnect();
    await stack.issuer?.close();
    await stack.database?.close();
  });
  beforeEach(async () => {
    stack.gh = new FakeGitHub();
    for (const [login, permission] of Object.entries(opts.permissions ?? {}))
      stack.gh.permissions.set(login, permission);
    opts.routes?.(stack.gh);
    stack.inspect = await testInspect(env(), stack.database);
  });
  afterEach(async () => {
    await stack.inspect?.close();
    stack.gh?.close();
  });
  return stack;
}
