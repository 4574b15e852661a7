/**
 * The bundled GitHub Action as a runner job would run it, against the real control plane in
 * `actions` mode: a comment dispatches the runner workflow (GitHub's REST API faked at HTTP),
 * the action gets an OIDC token from a stand-in of the Actions token service (signed by a test
 * issuer the control plane trusts), claims the session with it and runs the sandbox.
 *
 * 1. Against github.com (REST faked with nock): this machine cannot reach it, so the clone
 *    fails: the run must end with a clear error, the prompt failed, and the installation token
 *    nowhere in events or output.
 * 2. Against a fake GitHub Enterprise host (test/support/fake-ghe.ts: REST + git smart HTTP over
 *    a local bare repository), the whole path: dispatch → OIDC claim → clone with the minted
 *    repository-scoped token → a real OpenCode turn (scripted model) → commit → push → done →
 *    idle exit 0, nothing left running.
 * 3. Against the same host, what a claim is bound to: the dispatched workflow run (as the dispatch
 *    answered it, or — where the host answers 204, as older GitHub Enterprise Server — as the run's
 *    API record shows it), the runner workflow, ref, event and repository id, a token used once.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../app/db/client.js";
import { listPrompts } from "../../app/db/prompts.js";
import { activeRun, queuedRun } from "../../app/db/runs.js";
import { getSession, listSessions } from "../../app/db/sessions.js";
import type { SessionEvent } from "../../protocol/events.js";
import type { Inspect } from "../../app/server.js";
import { snapshotPath } from "../../sandbox/git/snapshot.js";
import {
  basic,
  CLONE_THEN_PUSH,
  fakeGheEnv,
  gitConversation,
  startFakeGhe,
  type FakeGhe,
} from "../support/fake-ghe.js";
import { actionBundle, runActionJob } from "../support/action-job.js";
import { FakeGitHub } from "../support/fake-github.js";
import { deliver, githubEnv, testInspect } from "../support/inspect.js";
import { startIssuer, startTokenService, type TestIssuer, type TokenService } from "../support/oidc-issuer.js";
import { issueComment } from "../support/payloads.js";
import { startModelServer, textStep, toolStep, type ModelServer } from "../support/model-server.js";
import { jobClaims, RUNNER_CLAIMS } from "../support/runner-client.js";
import { bareRepo, git, processesMentioning, waitForNoProcesses } from "../support/sandbox-harness.js";

const root = path.resolve(import.meta.dirname, "../..");
let database: Database;
let issuer: TestIssuer;
let gh: FakeGitHub;
let inspect: Inspect;
let controlPlane: string;
let tokenService: TokenService;
let tokenUrl: string;
/** The job the token service signs for (its `run_id`): set by each test before it runs the action. */
let job: Record<string, unknown> = {};

beforeAll(async () => {
  database = await openDatabase({ dataDir: "memory://" });
  issuer = await startIssuer();
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  gh = new FakeGitHub();
  gh.permissions.set("alice", "write");
  inspect = await testInspect(githubEnv({ INSPECT_OIDC_ISSUER: issuer.url }), database);
  controlPlane = (await inspect.listen(0, "127.0.0.1")).url;
  // The Actions token service: GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=… → {value: jwt}.
  tokenService = await startTokenService(issuer, "request-token", (audience) => ({
    ...RUNNER_CLAIMS,
    ...job,
    aud: audience,
  }));
  tokenUrl = tokenService.url;
});

afterAll(async () => {
  await inspect?.close();
  gh?.close();
  nock.enableNetConnect();
  await tokenService?.close();
  await issuer?.close();
  await database?.close();
});

describe("the GitHub Action claiming with OIDC", () => {
  it("claims the dispatched session with the job's OIDC token and ends a failed clone cleanly, token unseen", async () => {
    const delivered = await deliver(
      inspect,
      "issue_comment",
      issueComment("@inspect fix the crash", { issue: 77, login: "alice" }),
    );
    expect(delivered.status).toBe(200);
    await inspect.tasks.drain();
    const session = (await listSessions(database.db)).find((s) => s.threadNumber === 77)!;
    const dispatch = gh.calls.find((c) => c.method === "POST" && c.path.endsWith("/dispatches"));
    expect(dispatch?.body.inputs).toEqual({ session_id: session.id, control_plane_url: "https://inspect.test" });
    job = { run_id: String(gh.runFor(session.id)!.id) };

    const runnerTemp = mkdtempSync(path.join(os.tmpdir(), "inspect-action-"));
    try {
      const { code, output } = await runActionJob({
        "INPUT_SESSION-ID": dispatch!.body.inputs.session_id,
        // The test's control plane listens on loopback; the audience stays the public URL.
        "INPUT_CONTROL-PLANE-URL": controlPlane,
        INPUT_AUDIENCE: "https://inspect.test",
        ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
        RUNNER_TEMP: runnerTemp,
      });
      expect(tokenService.audiences).toEqual(["https://inspect.test"]);
      expect(output).toContain(`claimed session ${session.id}`);
      expect(code).toBe(1);
      expect(output).toMatch(
        /::error::Preparing the checkout failed: git clone .*https:\/\/github\.com\/acme\/widgets\.git/,
      );

      const minted = gh.calls.filter((c) => c.path.match(/\/app\/installations\/\d+\/access_tokens$/));
      expect(minted.length).toBeGreaterThan(0);
      const events = await inspect.sessions.deps.events.list(session.id, 0);
      const error = events.find((e) => e.type === "error");
      expect(error?.data).toMatchObject({ code: "checkout_failed" });
      const [prompt] = await listPrompts(database.db, session.id);
      expect(prompt.status).toBe("failed");
      expect((await getSession(database.db, session.id))?.status).toBe("failed");
      // The installation token (what the fake minted) never shows.
      const token = /ghs_installation_\w+/;
      expect(JSON.stringify(events)).not.toMatch(token);
      expect(output).not.toMatch(token);
      expect(await waitForNoProcesses(runnerTemp, 5_000)).toEqual([]);
    } finally {
      rmSync(runnerTemp, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the GitHub Action, the whole path against a fake GitHub Enterprise host", () => {
  const ISSUE = 12;
  const BRANCH = `inspect/${ISSUE}-login-page-crashes`;
  const work = mkdtempSync(path.join(os.tmpdir(), "inspect-action-ghe-"));
  const gitRoot = path.join(work, "git");
  let bare: string;
  let fake: FakeGhe;
  let model: ModelServer;
  let db: Database;
  let gheInspect: Inspect;
  let gheControlPlane: string;

  beforeAll(async () => {
    bare = bareRepo(path.join(gitRoot, "acme"), "widgets", {
      "README.md": "# widgets\n",
      "src/login.ts": "export const login = () => null;\n",
    });
    git(bare, "config", "http.receivepack", "true");
    // The app is installed on acme/widgets as 77 (the payloads') and on the runner repository as 88.
    fake = await startFakeGhe(gitRoot, bare, {
      owner: "acme",
      repo: "widgets",
      runnerRepo: "inspect-runner",
      installationId: 77,
      runnerInstallationId: 88,
    });
    fake.permissions.set("alice", "write");
    model = await startModelServer();
    db = await openDatabase({ dataDir: "memory://" });
    gheInspect = await testInspect(
      fakeGheEnv(fake, model, path.join(work, "data"), {
        INSPECT_RUNNER: "actions",
        INSPECT_RUNNER_REPO: "acme/inspect-runner",
        INSPECT_OIDC_ISSUER: issuer.url,
      }),
      db,
    );
    gheControlPlane = (await gheInspect.listen(0, "127.0.0.1")).url;
  });

  afterAll(async () => {
    await gheInspect?.close();
    await model?.close();
    await fake?.close();
    await db?.close();
    const left = processesMentioning(work);
    rmSync(work, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it("dispatch → OIDC claim → clone over HTTP with the minted token → OpenCode writes the file → alice's commit pushed → done → idle exit 0", async () => {
    model.reset([
      toolStep({ name: "write", args: { filePath: "src/workaround.md", content: "Clear the cookie to log in.\n" } }),
      textStep("Documented the login workaround in src/workaround.md."),
    ]);
    const delivered = await deliver(
      gheInspect,
      "issue_comment",
      issueComment("@inspect document the login workaround", { issue: ISSUE, login: "alice" }),
    );
    expect(delivered.status).toBe(200);
    await gheInspect.tasks.drain();
    const session = (await listSessions(db.db)).find((s) => s.threadNumber === ISSUE)!;
    expect(session).toMatchObject({ baseBranch: "main", headBranch: BRANCH });

    // The workflow is dispatched on the runner repository, as its installation, with nothing but the two inputs.
    expect(fake.find("GET", /^\/repos\/acme\/inspect-runner\/installation$/)).toHaveLength(1);
    expect(fake.dispatches).toHaveLength(1);
    const [dispatch] = fake.dispatches;
    expect(dispatch).toMatchObject({ repo: "acme/inspect-runner", workflow: "inspect-runner.yml", ref: "main" });
    expect(dispatch!.inputs).toEqual({ session_id: session.id, control_plane_url: "https://inspect.test" });
    const runnerInstallationTokens = fake.tokens.filter((t) => t.installationId === 88).map((t) => `token ${t.token}`);
    expect(runnerInstallationTokens).toContain(dispatch!.auth);
    // GitHub said which workflow run the dispatch started: the claim must come from that run's job.
    expect(dispatch!.returnRunDetails).toBe(true);
    expect((await queuedRun(db.db, session.id))?.githubRunId).toBe(dispatch!.runId);
    job = { run_id: String(dispatch!.runId) };

    // Which OpenCode the action runs: the bundle resolves OpenCode's platform package from
    // action/dist/ upwards — action/node_modules where the workflow ran `npm ci --prefix action`,
    // else (this checkout, without it) the repository's own node_modules. INSPECT_OPENCODE_BIN is deliberately unset.
    const actionModules = path.join(root, "action", "node_modules");
    const expectedModules = existsSync(path.join(actionModules, "opencode-linux-x64"))
      ? actionModules
      : path.join(root, "node_modules");
    expect(createRequire(actionBundle).resolve("opencode-linux-x64/package.json")).toBe(
      path.join(expectedModules, "opencode-linux-x64", "package.json"),
    );

    const runnerTemp = mkdtempSync(path.join(work, "runner-temp-"));
    const snapshots = path.join(runnerTemp, "snapshots");
    mkdirSync(snapshots);
    const seen = new Set<string>();
    const started = Date.now();
    const { code, output } = await runActionJob(
      {
        "INPUT_SESSION-ID": String(dispatch!.inputs.session_id),
        "INPUT_CONTROL-PLANE-URL": gheControlPlane,
        INPUT_AUDIENCE: String(dispatch!.inputs.control_plane_url),
        "INPUT_SNAPSHOT-DIR": snapshots,
        ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
        RUNNER_TEMP: runnerTemp,
      },
      () => {
        for (const line of processesMentioning(runnerTemp)) {
          const pid = line.split(" ")[0]!;
          try {
            seen.add(readlinkSync(`/proc/${pid}/exe`));
          } catch {
            // Gone meanwhile.
          }
        }
      },
    );
    const ran = Date.now() - started;
    const log = await gheInspect.sessions.deps.events.list(session.id, 0);
    const errors = log.filter((e) => e.type === "error");
    expect(code, `${output}\n${JSON.stringify(errors)}`).toBe(0);
    expect(output).toContain(`claimed session ${session.id} (acme/widgets, branch ${BRANCH})`);
    expect(output).toContain("checkout ready from clone");
    expect(output).toContain("exited (idle)");
    // Idle 2 s after the turn, not a hang: the whole run (OpenCode start, clone, turn, push) is short.
    expect(ran).toBeLessThan(60_000);

    // OpenCode ran from the node_modules found above.
    const opencode = [...seen].filter((exe) => exe.startsWith(expectedModules));
    expect(opencode.length, [...seen].join("\n")).toBeGreaterThan(0);

    // The turn: done, one commit, the file written, pushed to the bare repository behind the fake.
    const finished = log.filter(
      (e): e is Extract<SessionEvent, { type: "prompt.finished" }> => e.type === "prompt.finished",
    );
    expect(finished).toHaveLength(1);
    expect(finished[0]!.data.status, JSON.stringify(errors)).toBe("done");
    expect(finished[0]!.data.commits).toHaveLength(1);
    const sha = finished[0]!.data.commits[0]!.sha;
    const bareGit = (...args: string[]) =>
      execFileSync("git", ["--git-dir", bare, ...args], { encoding: "utf8" }).trim();
    expect(bareGit("rev-parse", `refs/heads/${BRANCH}`)).toBe(sha);
    expect(bareGit("rev-parse", `${sha}^`)).toBe(bareGit("rev-parse", "refs/heads/main"));
    expect(bareGit("show", `${sha}:src/workaround.md`)).toBe("Clear the cookie to log in.");
    const [an, ae, cn, subject] = bareGit("log", "-1", "--format=%an%n%ae%n%cn%n%s", sha).split("\n");
    expect({ an, ae, cn, subject }).toEqual({
      an: "alice",
      ae: "1001+alice@users.noreply.127.0.0.1",
      cn: "inspect-widgets[bot]",
      subject: "document the login workaround",
    });
    expect(log.filter((e) => e.type === "git.push").map((e) => e.data)).toEqual([{ branch: BRANCH, sha }]);
    expect((await listPrompts(db.db, session.id)).map((p) => p.status)).toEqual(["done"]);

    // Git: one repository-scoped contents:write token, minted at the claim; every request carried it.
    const repoTokens = fake.tokens.filter((t) => t.body.repositories);
    expect(repoTokens).toHaveLength(1);
    expect(repoTokens[0]).toMatchObject({
      installationId: 77,
      body: { repositories: ["widgets"], permissions: { contents: "write" } },
    });
    expect(gitConversation(fake.git)).toEqual(CLONE_THEN_PUSH);
    expect(new Set(fake.git.map((c) => c.auth))).toEqual(new Set([basic(repoTokens[0]!.token)]));

    // No token the fake minted (installation or repository-scoped) in any event or the job's output.
    const events = JSON.stringify(log);
    for (const { token } of fake.tokens) {
      expect(events).not.toContain(token);
      expect(output).not.toContain(token);
      expect(output).not.toContain(basic(token).slice(6));
    }

    // The checkout became the runner's snapshot, without a credential in it.
    const snapshot = snapshotPath(snapshots, "acme", "widgets");
    expect(output).toContain("snapshot saved");
    const gitConfig = readFileSync(path.join(snapshot, ".git", "config"), "utf8");
    expect(gitConfig).toContain(`url = ${fake.webUrl}/acme/widgets.git`);
    expect(gitConfig).not.toContain(repoTokens[0]!.token);
    expect(gitConfig).not.toContain(basic(repoTokens[0]!.token).slice(6));

    expect((await getSession(db.db, session.id))?.status).toBe("completed");
    expect(await waitForNoProcesses(runnerTemp, 5_000)).toEqual([]);

    // INSPECT_POOL_SIZE=0 (these tests' setting) in actions mode: the repository is active now, and
    // still nothing but the session's own job was dispatched, as without a pool.
    await gheInspect.pool.settled();
    expect(fake.dispatches.map((d) => Object.keys(d.inputs).sort())).toEqual([["control_plane_url", "session_id"]]);
  }, 120_000);

  describe.each(["run-details", "no-content"] as const)(
    "a claim bound to its dispatch (the host answers the dispatch with %s)",
    (answer) => {
      let issue = answer === "run-details" ? 300 : 400;
      const claimAt = async (sessionId: string, token: string) => {
        const res = await fetch(`${gheControlPlane}/api/runner/claim`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ sessionId }),
        });
        return { status: res.status, error: ((await res.json()) as { error?: string }).error };
      };

      it("only the dispatched job claims, once; every other token is refused and the session left queued for it", async () => {
        fake.dispatchAnswer = answer;
        const n = ++issue;
        await deliver(
          gheInspect,
          "issue_comment",
          issueComment("@inspect fix the login page", { issue: n, login: "alice" }),
        );
        await gheInspect.tasks.drain();
        const session = (await listSessions(db.db)).find((s) => s.threadNumber === n)!;
        const dispatch = fake.dispatches.find((d) => d.inputs.session_id === session.id)!;
        expect(dispatch.returnRunDetails).toBe(true);
        // Recorded when the host said; otherwise the claim asks the host about the job's run.
        const recorded = answer === "run-details" ? dispatch.runId : null;
        expect((await queuedRun(db.db, session.id))?.githubRunId).toBe(recorded);
        // Another session's dispatched job, for the "another run" case.
        await deliver(
          gheInspect,
          "issue_comment",
          issueComment("@inspect something else", { issue: ++issue, login: "alice" }),
        );
        await gheInspect.tasks.drain();
        const otherRun = fake.dispatches.at(-1)!.runId;
        expect(otherRun).not.toBe(dispatch.runId);

        const right = (extra: Record<string, unknown> = {}) => issuer.sign(jobClaims(dispatch.runId, extra));
        const before = (await gheInspect.sessions.deps.events.list(session.id, 0)).length;
        const refusals: [string, Promise<string>, number, RegExp][] = [
          [
            "another workflow",
            right({ workflow_ref: "acme/inspect-runner/.github/workflows/deploy.yml@refs/heads/main" }),
            401,
            /workflow .*deploy\.yml/,
          ],
          [
            "another ref",
            right({
              ref: "refs/heads/feature",
              workflow_ref: "acme/inspect-runner/.github/workflows/inspect-runner.yml@refs/heads/feature",
            }),
            401,
            /refs\/heads\/feature/,
          ],
          ["another event", right({ event_name: "push" }), 401, /push event/],
          ["another repository id", right({ repository_id: "666" }), 401, /repository id 666/],
          ["another workflow run", issuer.sign(jobClaims(otherRun)), 403, new RegExp(`workflow run ${otherRun}`)],
        ];
        for (const [label, token, status, message] of refusals) {
          const res = await claimAt(session.id, await token);
          expect(res.status, label).toBe(status);
          expect(res.error, label).toMatch(message);
          expect((await getSession(db.db, session.id))?.status, label).toBe("queued");
          expect(await queuedRun(db.db, session.id), label).toMatchObject({
            state: "queued",
            tokenHash: null,
            githubRunId: recorded,
          });
        }
        expect(await gheInspect.sessions.deps.events.list(session.id, 0)).toHaveLength(before);
        // No repository token was minted for a refused claim.
        const minted = fake.tokens.filter((t) => t.body.repositories).length;

        const token = await right();
        expect((await claimAt(session.id, token)).status).toBe(200);
        expect(fake.tokens.filter((t) => t.body.repositories)).toHaveLength(minted + 1);
        expect(await activeRun(db.db, session.id)).toMatchObject({ state: "claimed", githubRunId: dispatch.runId });
        expect(fake.find("GET", new RegExp(`/actions/runs/${dispatch.runId}$`))).toHaveLength(
          answer === "no-content" ? 1 : 0,
        );
        // The same token again, and a second token of the same job: refused.
        expect(await claimAt(session.id, token)).toMatchObject({
          status: 401,
          error: expect.stringMatching(/already used/),
        });
        expect(await claimAt(session.id, await right())).toMatchObject({
          status: 409,
          error: expect.stringMatching(/not waiting for a runner/),
        });
        expect((await getSession(db.db, session.id))?.status).toBe("starting");
      }, 60_000);
    },
  );
});
