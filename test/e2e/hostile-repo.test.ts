/**
 * The trust boundary, tried as an attacker would: a repository whose setup script, whose
 * agent turn (the bash tool) and whose installed git hooks look for every secret the control
 * plane and the runner hold — every process's environment, the App's key file, the data
 * folder's secret, `.env`/`*.pem`/`secret` files in the folders above the checkout — and
 * write whatever they find into the checkout for Inspect to commit and push. Its opencode.json
 * asks for an MCP server and its own model endpoint; its setup script poisons git (hooks,
 * fsmonitor, trace2 targets that log config values, TLS checks off, every http URL rewritten)
 * and leaves a daemon watching every process it can see for git credentials.
 *
 * Real parts throughout: the control plane in GitHub App mode (in-process), its local runner
 * or the bundled GitHub Action, the sandbox runtime, bubblewrap and the sandbox user, the real
 * OpenCode (scripted model), git over smart HTTP from a fake GitHub Enterprise host. What must
 * hold: no secret in any form in a pushed commit, an event, a log line or a model request;
 * the attack ran (as the sandbox user); no hook, fsmonitor or MCP server ran, also not from a
 * poisoned snapshot a later session restores; the daemon is gone after the session.
 *
 * Needs root, bubblewrap and the sandbox user (CI makes them; README → Security).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealToken } from "../../app/auth/crypto.js";
import { upsertUser } from "../../app/db/accounts.js";
import { openDatabase, type Database } from "../../app/db/client.js";
import { users } from "../../app/db/schema.js";
import { listSessions } from "../../app/db/sessions.js";
import type { SessionEvent } from "../../protocol/events.js";
import type { Inspect } from "../../app/server.js";
import { snapshotPath } from "../../sandbox/git/snapshot.js";
import { detectBoundary } from "../../sandbox/jail/boundary.js";
import { fakeGheEnv, startFakeGhe, type FakeGhe } from "../support/fake-ghe.js";
import {
  daemonRunning,
  hostileRepoFiles,
  leakedSecrets,
  pushedFile,
  pushedFiles,
  pushedText,
} from "../support/hostile.js";
import { appPrivateKey, deliver, testInspect, WEBHOOK_SECRET } from "../support/inspect.js";
import { startModelServer, textStep, toolStep, type ModelServer } from "../support/model-server.js";
import { startIssuer, startTokenService, type TestIssuer, type TokenService } from "../support/oidc-issuer.js";
import { issueComment } from "../support/payloads.js";
import { RUNNER_CLAIMS } from "../support/runner-client.js";
import { bareRepo, git, processesMentioning, waitForNoProcesses } from "../support/sandbox-harness.js";
import { ofType, until } from "../support/wait.js";

const boundary = detectBoundary("inspect-sandbox");
const ALICE_OAUTH = `gho_alice_${randomBytes(8).toString("hex")}`;
/** Stands in for the control plane's own environment (in-process here, so a root process carries it). */
const DECOY_SECRET = `decoy-control-plane-secret-${randomBytes(8).toString("hex")}`;
const repoRoot = path.resolve(import.meta.dirname, "../..");

interface World {
  root: string;
  dataDir: string;
  keyPath: string;
  bare: string;
  fake: FakeGhe;
  model: ModelServer;
  database: Database;
  logs: string[];
  decoy: ChildProcess;
}

async function makeWorld(prefix: string): Promise<World> {
  // Outside /tmp would not matter: the jail has a private /tmp; this is the usual place.
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const dataDir = path.join(root, "data");
  // The App's key, readable by everyone on purpose: the boundary must not depend on its mode.
  const keyDir = path.join(root, "keys");
  mkdirSync(keyDir, { mode: 0o755 });
  const keyPath = path.join(keyDir, "app.pem");
  writeFileSync(keyPath, appPrivateKey(), { mode: 0o644 });
  chmodSync(root, 0o755);
  const gitRoot = path.join(root, "git");
  const bare = bareRepo(path.join(gitRoot, "acme"), "widgets", hostileRepoFiles({ keyPath, dataDir }));
  git(bare, "config", "http.receivepack", "true");
  const fake = await startFakeGhe(gitRoot, bare, {
    owner: "acme",
    repo: "widgets",
    runnerRepo: "inspect-runner",
    installationId: 77,
    runnerInstallationId: 88,
  });
  fake.permissions.set("alice", "write");
  const model = await startModelServer();
  const database = await openDatabase({ dataDir: "memory://" });
  const decoy = spawn("sleep", ["600"], {
    env: { PATH: process.env.PATH!, WEBHOOK_SECRET, APP_PRIVATE_KEY: appPrivateKey(), DECOY_SECRET },
    stdio: "ignore",
  });
  return { root, dataDir, keyPath, bare, fake, model, database, logs: [], decoy };
}

async function closeWorld(w: World | undefined, inspect: Inspect | undefined) {
  await inspect?.close();
  w?.decoy.kill("SIGKILL");
  await w?.model.close();
  await w?.fake.close();
  await w?.database.close();
  if (w) {
    const left = await waitForNoProcesses(w.root, 10_000);
    rmSync(w.root, { recursive: true, force: true });
    expect(left).toEqual([]);
  }
}

/** Everything secret this world holds, by name. */
function secretsOf(w: World, extra: Record<string, string> = {}): Record<string, string> {
  const secrets: Record<string, string> = {
    appPrivateKey: appPrivateKey(),
    webhookSecret: WEBHOOK_SECRET,
    aliceOAuthToken: ALICE_OAUTH,
    decoy: DECOY_SECRET,
    ...extra,
  };
  const generated = path.join(w.dataDir, "secret");
  if (existsSync(generated)) secrets.inspectSecret = readFileSync(generated, "utf8").trim();
  w.fake.tokens.forEach((t, i) => (secrets[`installationToken${i}`] = t.token));
  return secrets;
}

const attack = (label: string) =>
  toolStep({ name: "bash", args: { command: `sh .inspect/attack.sh ${label}`, description: "look around" } });

/** What the whole attack must show, whichever runner ran it. */
function expectNoLeak(w: World, branch: string, outputs: Record<string, string>, secrets: Record<string, string>) {
  for (const [where, text] of Object.entries({
    pushed: pushedText(w.bare),
    modelRequests: JSON.stringify(w.model.requests),
    ...outputs,
  })) {
    expect(leakedSecrets(text, secrets), `a secret in ${where}`).toEqual([]);
  }
  // The attack did run, as the sandbox user, and saw neither our processes nor our files.
  const uid = String((boundary as { ok: true; user: { uid: number } }).user.uid);
  for (const label of ["setup", "agent"]) {
    const leak = pushedFile(w.bare, branch, `leak-${label}.txt`);
    expect(leak, `leak-${label}.txt pushed`).not.toBeNull();
    expect(leak).toContain(`uid=${uid}(inspect-sandbox)`);
    expect(leak).toMatch(/== key\ncat: [^\n]*app\.pem: (No such file or directory|Permission denied)/);
  }
  // No hook, fsmonitor or repository MCP server ran; the repository's model endpoint was not used.
  expect(pushedFiles(w.bare, branch, /hook-|fsmonitor|mcp-env/)).toEqual([]);
  expect(w.model.requests.length).toBeGreaterThan(0);
}

describe.skipIf(!boundary.ok)("a hostile repository, local runner in GitHub App mode", () => {
  let w: World;
  let inspect: Inspect;
  const events = async (thread: number) => {
    const session = (await listSessions(w.database.db)).find((s) => s.threadNumber === thread);
    return session ? inspect.sessions.deps.events.list(session.id) : [];
  };
  const finished = async (thread: number, count: number) =>
    until(
      `prompt ${count} of #${thread} to finish`,
      async () => {
        const log = await events(thread);
        return ofType(log, "prompt.finished").length >= count ? log : null;
      },
      120_000,
    );

  beforeAll(async () => {
    w = await makeWorld("inspect-hostile-local-");
    const env = fakeGheEnv(w.fake, w.model, w.dataDir, { PRIVATE_KEY_PATH: w.keyPath });
    delete env.PRIVATE_KEY;
    delete env.INSPECT_SECRET; // generated into the data folder: one more file to go after
    inspect = await testInspect(env, w.database, {
      logLevel: "debug",
      logDestination: { write: (line) => void w.logs.push(line) },
    });
    await inspect.listen(0, "127.0.0.1");
    const alice = await upsertUser(w.database.db, { login: "alice", githubId: 1001 });
    await w.database.db
      .update(users)
      .set({ oauthToken: sealToken(inspect.secret, ALICE_OAUTH) })
      .where(eq(users.id, alice.id));
  }, 60_000);

  afterAll(async () => closeWorld(w, inspect), 60_000);

  it("a session and a follow-up on it: everything the attack found is pushed, and none of it is a secret", async () => {
    w.model.reset([attack("agent"), textStep("Looked around.")]);
    expect(
      (
        await deliver(
          inspect,
          "issue_comment",
          issueComment("@inspect look around", { issue: 31, commentId: 9001, login: "alice" }),
        )
      ).status,
    ).toBe(200);
    let log = await finished(31, 1);
    expect(ofType(log, "prompt.finished")[0]!.data.status, JSON.stringify(ofType(log, "error"))).toBe("done");
    // The setup script ran (as the sandbox user): its output is in the session log.
    expect(ofType(log, "setup.finished")[0]?.data.exitCode).toBe(0);

    // A follow-up commits what the hooks, fsmonitor, trace2 and the daemon left meanwhile.
    w.model.reset([
      toolStep({
        name: "bash",
        args: {
          command: "ls -la . .git > seen.txt; cat daemon.txt 2>/dev/null | head -20; true",
          description: "look again",
        },
      }),
      // Inspect's own tools answer from outside the jail (the runtime), with no token inside it.
      toolStep({ name: "inspect_list_children", args: {} }),
      textStep("Committed it."),
    ]);
    expect(
      (
        await deliver(
          inspect,
          "issue_comment",
          issueComment("@inspect commit what you found", { issue: 31, commentId: 9002, login: "alice" }),
        )
      ).status,
    ).toBe(200);
    log = await finished(31, 2);
    const [first, second] = ofType(log, "prompt.finished");
    expect(second!.data.status, JSON.stringify(ofType(log, "error"))).toBe("done");
    const listed = ofType(log, "tool.call").find(
      (e) => e.data.tool === "inspect_list_children" && e.data.status !== "pending" && e.data.status !== "running",
    );
    expect(listed?.data.status, JSON.stringify(listed)).toBe("completed");
    expect(listed?.data.output?.replace(/\s/g, "")).toBe("[]");
    // Both pushes went through although the checkout's config rewrote every http URL to nowhere.
    expect(first!.data.commits.length + second!.data.commits.length).toBe(2);
    const session = (await listSessions(w.database.db)).find((s) => s.threadNumber === 31)!;
    await until(
      "the session to go idle and its runner to exit",
      async () => (await waitForNoProcesses(session.id, 100)).length === 0 && !daemonRunning(),
      30_000,
    );

    expectNoLeak(w, session.headBranch, { events: JSON.stringify(log), logs: w.logs.join("\n") }, secretsOf(w));
    expect(daemonRunning()).toBe(false);
  }, 240_000);

  it("a later session restores the poisoned checkout: its hooks and config never run, and nothing leaks", async () => {
    const snapshot = snapshotPath(path.join(w.dataDir, "snapshots"), "acme", "widgets");
    // The snapshot the first session left holds what its setup script planted.
    expect(existsSync(path.join(snapshot, ".git", "hooks", "pre-push"))).toBe(true);
    expect(existsSync(path.join(snapshot, ".git", "inspect-poisoned"))).toBe(true);

    w.model.reset([attack("agent"), textStep("Looked around again.")]);
    expect(
      (
        await deliver(
          inspect,
          "issue_comment",
          issueComment("@inspect look around again", { issue: 32, commentId: 9101, login: "alice" }),
        )
      ).status,
    ).toBe(200);
    const log = await finished(32, 1);
    expect(ofType(log, "prompt.finished")[0]!.data.status, JSON.stringify(ofType(log, "error"))).toBe("done");
    expect(w.logs.join("\n")).toMatch(/checkout ready from snapshot/);
    const session = (await listSessions(w.database.db)).find((s) => s.threadNumber === 32)!;
    await until(
      "the second session's runner to exit",
      async () => (await waitForNoProcesses(session.id, 100)).length === 0 && !daemonRunning(),
      30_000,
    );

    expectNoLeak(w, session.headBranch, { events: JSON.stringify(log), logs: w.logs.join("\n") }, secretsOf(w));
    // Hooks write into .git, which neither push nor clean-up touches: none is there.
    const gitDir = readdirSync(path.join(snapshot, ".git"));
    expect(gitDir.filter((f) => /^hook-|fsmonitor/.test(f))).toEqual([]);
    // What trace2 recorded (the session's own git, as the sandbox user) holds no secret either.
    const trace = path.join(snapshot, ".git", "trace2.txt");
    if (existsSync(trace)) expect(leakedSecrets(readFileSync(trace, "utf8"), secretsOf(w))).toEqual([]);
    expect(daemonRunning()).toBe(false);
  }, 240_000);

  it("with the sandbox user missing, a session is refused with the reason, on the page and GitHub", async () => {
    const env = fakeGheEnv(w.fake, w.model, path.join(w.root, "data-nouser"), {
      INSPECT_SANDBOX_USER: "no-such-sandbox-user",
    });
    const other = await testInspect(env, w.database);
    try {
      expect(
        (
          await deliver(
            other,
            "issue_comment",
            issueComment("@inspect do it", { issue: 33, commentId: 9201, login: "alice" }),
          )
        ).status,
      ).toBe(200);
      await other.tasks.drain();
      const session = await until("the refused session", async () =>
        (await listSessions(w.database.db)).find((s) => s.threadNumber === 33 && s.status === "failed"),
      );
      const log = await other.sessions.deps.events.list(session.id);
      expect(
        ofType(log, "error")
          .map((e) => e.data.message)
          .join("\n"),
      ).toMatch(/sandbox boundary.*no-such-sandbox-user.*does not exist/);
      expect(processesMentioning(session.id)).toEqual([]);
    } finally {
      await other.close();
    }
  }, 60_000);
});

describe.skipIf(!boundary.ok)("a hostile repository, the bundled GitHub Action", () => {
  let w: World;
  let inspect: Inspect;
  let issuer: TestIssuer;
  let tokens: TokenService;
  let controlPlane: string;
  let job: Record<string, unknown> = {};
  const REQUEST_TOKEN = `actions-request-${randomBytes(8).toString("hex")}`;
  const RUNTIME_TOKEN = `actions-runtime-${randomBytes(8).toString("hex")}`;
  const JOB_TOKEN = `ghs_actionsjob${randomBytes(8).toString("hex")}`;

  beforeAll(async () => {
    w = await makeWorld("inspect-hostile-action-");
    issuer = await startIssuer();
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    const env = fakeGheEnv(w.fake, w.model, w.dataDir, {
      INSPECT_RUNNER: "actions",
      INSPECT_RUNNER_REPO: "acme/inspect-runner",
      INSPECT_OIDC_ISSUER: issuer.url,
    });
    inspect = await testInspect(env, w.database, {
      logLevel: "debug",
      logDestination: { write: (line) => void w.logs.push(line) },
    });
    controlPlane = (await inspect.listen(0, "127.0.0.1")).url;
    tokens = await startTokenService(issuer, REQUEST_TOKEN, (audience) => ({
      ...RUNNER_CLAIMS,
      ...job,
      aud: audience,
    }));
  }, 60_000);

  afterAll(async () => {
    nock.enableNetConnect();
    await tokens?.close();
    await issuer?.close();
    await closeWorld(w, inspect);
  }, 60_000);

  it("the job's tokens, the claim's tokens and the App's secrets stay out of everything it pushes, logs and sends", async () => {
    w.model.reset([attack("agent"), textStep("Looked around.")]);
    expect(
      (
        await deliver(
          inspect,
          "issue_comment",
          issueComment("@inspect look around", { issue: 41, commentId: 9301, login: "alice" }),
        )
      ).status,
    ).toBe(200);
    await inspect.tasks.drain();
    const [dispatch] = w.fake.dispatches;
    expect(dispatch).toBeDefined();
    job = { run_id: String(dispatch!.runId) };
    const runnerTemp = mkdtempSync(path.join(w.root, "runner-temp-"));
    const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(repoRoot, "action", "dist", "index.js")], {
        env: {
          PATH: process.env.PATH!,
          HOME: os.homedir(),
          "INPUT_SESSION-ID": String(dispatch!.inputs.session_id),
          "INPUT_CONTROL-PLANE-URL": controlPlane,
          INPUT_AUDIENCE: String(dispatch!.inputs.control_plane_url),
          "INPUT_SNAPSHOT-DIR": path.join(runnerTemp, "snapshots"),
          ACTIONS_ID_TOKEN_REQUEST_URL: tokens.url,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
          ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
          GITHUB_TOKEN: JOB_TOKEN,
          RUNNER_TEMP: runnerTemp,
        },
      });
      let text = "";
      child.stdout.on("data", (c) => (text += c));
      child.stderr.on("data", (c) => (text += c));
      child.on("close", (code) => resolve({ code, text }));
    });
    const session = (await listSessions(w.database.db)).find((s) => s.threadNumber === 41)!;
    const log: SessionEvent[] = await inspect.sessions.deps.events.list(session.id);
    expect(output.code, output.text).toBe(0);
    expect(output.text).toContain("runs as inspect-sandbox in a sandbox");
    expect(ofType(log, "prompt.finished")[0]?.data.status, JSON.stringify(ofType(log, "error"))).toBe("done");

    const secrets = secretsOf(w, {
      actionsRequestToken: REQUEST_TOKEN,
      actionsRuntimeToken: RUNTIME_TOKEN,
      jobGitHubToken: JOB_TOKEN,
    });
    tokens.minted.forEach((token, i) => (secrets[`oidcToken${i}`] = token));
    // The job's output may carry the OIDC token only inside the runner's own mask command.
    const jobOutput = output.text.replace(/^::add-mask::.*$/gm, "");
    expectNoLeak(w, session.headBranch, { events: JSON.stringify(log), logs: w.logs.join("\n"), jobOutput }, secrets);
    expect(daemonRunning()).toBe(false);
  }, 240_000);
});
