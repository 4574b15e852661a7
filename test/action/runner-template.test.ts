/**
 * The runner workflow template (.github/runner/inspect-runner.yml), every step as written, run the
 * way a self-hosted Linux x64 runner runs it, on a clean machine (a fresh workspace, an empty npm
 * cache), against the real control plane in `actions` mode and the fake GitHub Enterprise host:
 *
 * - the job's inputs are what the control plane dispatched (`${{ inputs.x }}` filled in; any other
 *   expression, or a step feature this runner does not emulate, fails the test rather than being
 *   skipped — so the template cannot change without this test being taught the change);
 * - `actions/checkout` is done by copying this repository's working tree (what is about to be
 *   committed; in CI the same as HEAD) into its `path:` — no network;
 * - `run:` steps run with bash in the workspace, as the runner does: `npm ci --prefix …/action`
 *   really installs the pinned OpenCode from the registry (action/package-lock.json, integrity
 *   checked by npm), a few seconds;
 * - the `uses: ./…/action` step runs as the runner runs a JavaScript action: `runs.main` of its
 *   action.yml with `INPUT_*` variables, the OIDC request variables (the template asks for
 *   `id-token: write`) pointing at a stand-in of the Actions token service.
 *
 * Node: action.yml says `node24` (the runner's bundled Node 24); this machine has Node 20. The
 * bundle is built for node20 (action/build.mjs), so it is run here on this Node — the oldest the
 * runner may use for it — and `runs.using` is checked to be a value today's runner accepts.
 *
 * A session completes: OpenCode (the one the install step put in the workspace) writes a file,
 * the requester's commit is pushed to the fake's bare repository, the runner exits idle, and the
 * checkout is left as the snapshot on the (stand-in) persistent volume.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { openDatabase, type Database } from "../../app/db/client.js";
import { listPrompts } from "../../app/db/prompts.js";
import { getSession, listSessions } from "../../app/db/sessions.js";
import type { SessionEvent } from "../../protocol/events.js";
import type { Inspect } from "../../app/server.js";
import { snapshotPath } from "../../sandbox/git/snapshot.js";
import { isNativeExecutable, platformPackages } from "../../sandbox/opencode/binary.js";
import { fakeGheEnv, startFakeGhe, type FakeGhe, type WorkflowDispatch } from "../support/fake-ghe.js";
import { deliver, testInspect } from "../support/inspect.js";
import { startModelServer, textStep, toolStep, type ModelServer } from "../support/model-server.js";
import { startIssuer, startTokenService, type TestIssuer, type TokenService } from "../support/oidc-issuer.js";
import { issueComment } from "../support/payloads.js";
import { freePort } from "../support/ports.js";
import { jobClaims } from "../support/runner-client.js";
import { bareRepo, git, processesMentioning, waitForNoProcesses } from "../support/sandbox-harness.js";

const root = path.resolve(import.meta.dirname, "../..");
const TEMPLATE = ".github/runner/inspect-runner.yml";
/** `runs.using` values the Actions runner accepts for a JavaScript action today (node12/node16 are gone). */
const RUNNER_NODES = ["node20", "node24"];
/** The template's snapshot folder lives here on a runner machine; in the test, under the machine's temp folder. */
const PERSISTENT = "/var/lib/inspect/";

type Json = Record<string, any>;

/** Keys the test's runner understands; anything else in the template fails the test (teach the runner first). */
const KNOWN = {
  workflow: ["name", "run-name", "on", "permissions", "concurrency", "jobs", "env"],
  job: ["runs-on", "timeout-minutes", "steps", "env", "permissions", "concurrency"],
  step: ["name", "id", "uses", "run", "with", "env", "shell", "working-directory", "timeout-minutes"],
  checkout: ["repository", "ref", "path", "persist-credentials"],
};

function onlyKnown(what: string, object: Json, known: string[]): void {
  const unknown = Object.keys(object).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`${what}: the test's runner does not emulate ${unknown.join(", ")}`);
}

/**
 * `${{ … }}` as the runner evaluates it, for the only context the template may use: the dispatch's
 * inputs (`inputs` holds every input the workflow declares, "" for one the dispatch did not give),
 * alone or joined by `||` (the first that is not empty).
 */
function expand(value: unknown, inputs: Record<string, string>, where: string): string {
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (typeof value !== "string") throw new Error(`${where}: expected a string, got ${JSON.stringify(value)}`);
  return value.replace(/\$\{\{(.*?)\}\}/g, (_, expression: string) => {
    const names = expression.split("||").map((part) => /^\s*inputs\.([A-Za-z_][\w-]*)\s*$/.exec(part)?.[1]);
    if (names.some((n) => !n))
      throw new Error(
        `${where}: the test's runner evaluates only \${{ inputs.<name> }} and \${{ inputs.<a> || inputs.<b> }}, not \${{${expression}}}`,
      );
    for (const input of names)
      if (!(input! in inputs)) throw new Error(`${where}: inputs.${input} is not an input of the workflow`);
    return names.map((n) => inputs[n!]!).find((v) => v !== "") ?? "";
  });
}

/** The job's `inputs` context: every input the workflow declares ("" unless dispatched); an undeclared or missing required one fails. */
function jobInputs(workflow: Json, dispatched: Record<string, string>): Record<string, string> {
  const declared = (workflow.on?.workflow_dispatch?.inputs ?? {}) as Json;
  for (const name of Object.keys(dispatched))
    if (!(name in declared)) throw new Error(`the dispatch gave ${name}, which the workflow does not declare`);
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    inputs[name] = dispatched[name] ?? String(spec?.default ?? "");
    if (spec?.required && !inputs[name]) throw new Error(`the dispatch did not give the required input ${name}`);
  }
  return inputs;
}

const expandAll = (env: Json | undefined, inputs: Record<string, string>, where: string) =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, expand(v, inputs, `${where}.env.${k}`)]));

/** actions/checkout, offline: this repository's working tree (tracked and new, not ignored files) copied into `dest`. */
function checkOutInspect(dest: string): void {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    const from = path.join(root, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
    copyFileSync(from, path.join(dest, file));
  }
}

interface StepResult {
  name: string;
  code: number | null;
  output: string;
}

function spawnStep(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  watch: () => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env });
    const timer = setInterval(watch, 100);
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (code) => {
      clearInterval(timer);
      resolve({ code, output });
    });
  });
}

interface Machine {
  /** Everything the job touches is under here: the runner's work folder, its temp, the persistent volume, npm's cache. */
  root: string;
  workspace: string;
  temp: string;
  /** OIDC token service (when the workflow asks for `id-token: write`). */
  tokenUrl: string;
  /** More of the runner machine's environment. */
  env?: Record<string, string>;
}

/** A clean runner machine under `root`: work folder and temp as a runner lays them out, the persistent volume provisioned. */
function newMachine(root: string, tokenUrl = ""): Machine {
  const m = {
    root,
    workspace: path.join(root, "_work", "inspect-runner", "inspect-runner"),
    temp: path.join(root, "_work", "_temp"),
    tokenUrl,
  };
  for (const dir of [m.workspace, m.temp, path.join(root, PERSISTENT)]) mkdirSync(dir, { recursive: true });
  return m;
}

/**
 * The runner service's own environment, which steps inherit: this machine's (PATH, HOME, CA
 * certificates, proxies — npm needs them), without what would make the job see something a
 * fresh runner would not: the test's and Inspect's variables, and — when the suite itself runs
 * in GitHub Actions — that job's GITHUB_* / RUNNER_* / ACTIONS_* (e.g. its cache service).
 */
function machineEnv(): Record<string, string> {
  const drop =
    /^(INSPECT_|GITHUB_|RUNNER_|ACTIONS_|INPUT_|STATE_|npm_|VITEST|TINYPOOL|NODE_OPTIONS$|NODE_ENV$|TEST$|CI$|FORCE_COLOR$|NO_COLOR$)/i;
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !drop.test(e[0])),
  );
}

/**
 * Run the workflow's one job as a self-hosted runner would; stops at the first failing step.
 * `watch` is called every 100 ms while a step runs.
 */
async function runJob(
  workflow: Json,
  dispatched: Record<string, string>,
  m: Machine,
  watch: () => void,
): Promise<StepResult[]> {
  onlyKnown("workflow", workflow, KNOWN.workflow);
  const inputs = jobInputs(workflow, dispatched);
  const jobs = Object.entries(workflow.jobs as Json);
  if (jobs.length !== 1) throw new Error(`the test's runner runs one job, the template has ${jobs.length}`);
  const [jobId, job] = jobs[0]!;
  onlyKnown(`jobs.${jobId}`, job, KNOWN.job);
  const permissions = { ...workflow.permissions, ...job.permissions };
  // Evaluated by GitHub before the job starts: an expression the test cannot evaluate fails here too.
  for (const [where, concurrency] of [
    ["concurrency", workflow.concurrency],
    [`jobs.${jobId}.concurrency`, job.concurrency],
  ] as const) {
    if (concurrency !== undefined)
      expand(typeof concurrency === "string" ? concurrency : concurrency.group, inputs, where);
  }

  for (const file of ["GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"])
    writeFileSync(path.join(m.temp, file), "");
  const runnerEnv: Record<string, string> = {
    ...machineEnv(),
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: m.workspace,
    GITHUB_EVENT_NAME: "workflow_dispatch",
    GITHUB_REPOSITORY: "acme/inspect-runner",
    GITHUB_RUN_ID: "123",
    GITHUB_JOB: jobId,
    RUNNER_TEMP: m.temp,
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    // A clean runner: nothing in npm's cache, so the install step downloads from the registry.
    npm_config_cache: path.join(m.root, "npm-cache"),
    ...m.env,
    ...Object.fromEntries(
      ["GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"].map((f) => [f, path.join(m.temp, f)]),
    ),
    ...expandAll(workflow.env, inputs, "workflow"),
    ...expandAll(job.env, inputs, `jobs.${jobId}`),
  };
  if (permissions["id-token"] === "write") {
    runnerEnv.ACTIONS_ID_TOKEN_REQUEST_URL = m.tokenUrl;
    runnerEnv.ACTIONS_ID_TOKEN_REQUEST_TOKEN = "request-token";
  }

  const results: StepResult[] = [];
  for (const [i, step] of (job.steps as Json[]).entries()) {
    const where = `step ${i + 1} (${step.name ?? step.uses ?? step.run})`;
    onlyKnown(where, step, KNOWN.step);
    const env = { ...runnerEnv, ...expandAll(step.env, inputs, where) };
    const cwd = path.resolve(m.workspace, expand(step["working-directory"] ?? ".", inputs, where));
    let result: { code: number | null; output: string };

    if (step.run !== undefined) {
      // As the runner: the script in a file under RUNNER_TEMP, `bash -e {0}` unless `shell: bash` says `bash --noprofile --norc -eo pipefail {0}`.
      const script = path.join(m.temp, `step-${i + 1}.sh`);
      writeFileSync(script, expand(step.run, inputs, where));
      const shell =
        step.shell === undefined ? ["-e"] : step.shell === "bash" ? ["--noprofile", "--norc", "-eo", "pipefail"] : null;
      if (!shell) throw new Error(`${where}: the test's runner has no shell ${step.shell}`);
      result = await spawnStep("bash", [...shell, script], cwd, env, watch);
    } else if (/^actions\/checkout@v\d+$/.test(step.uses)) {
      const inputsGiven = step.with ?? {};
      onlyKnown(`${where} with`, inputsGiven, KNOWN.checkout);
      // No token left in the checkout for the session's code to find.
      expect(inputsGiven["persist-credentials"], `${where}: persist-credentials`).toBe(false);
      const dest = path.resolve(m.workspace, expand(inputsGiven.path ?? "", inputs, where));
      if (!dest.startsWith(m.workspace)) throw new Error(`${where}: path ${dest} is outside the workspace`);
      checkOutInspect(dest);
      result = { code: 0, output: `copied ${root} (working tree) to ${dest}` };
    } else if (typeof step.uses === "string" && step.uses.startsWith("./")) {
      result = await runJavaScriptAction(step, inputs, where, env, m, watch);
    } else {
      throw new Error(`${where}: the test's runner cannot run uses: ${step.uses}`);
    }

    results.push({ name: step.name ?? step.uses, ...result });
    for (const file of ["GITHUB_ENV", "GITHUB_PATH"]) {
      if (readFileSync(path.join(m.temp, file), "utf8"))
        throw new Error(`${where} wrote to ${file}, which the test's runner does not apply`);
    }
    if (result.code !== 0) break;
  }
  return results;
}

/** A local JavaScript action: `node <runs.main>` in the workspace, each declared input as INPUT_<NAME>. */
async function runJavaScriptAction(
  step: Json,
  inputs: Record<string, string>,
  where: string,
  env: Record<string, string>,
  m: Machine,
  watch: () => void,
) {
  const dir = path.resolve(m.workspace, step.uses);
  const action = parse(
    readFileSync(path.join(dir, existsSync(path.join(dir, "action.yml")) ? "action.yml" : "action.yaml"), "utf8"),
  ) as Json;
  expect(RUNNER_NODES, `${where}: runs.using`).toContain(action.runs.using);
  // This Node must be no newer than the runner's, so passing here means it runs there.
  expect(Number(process.versions.node.split(".")[0])).toBeLessThanOrEqual(Number(String(action.runs.using).slice(4)));
  const declared = (action.inputs ?? {}) as Json;
  const given = step.with ?? {};
  onlyKnown(`${where} with`, given, Object.keys(declared));
  const inputEnv: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    let value = name in given ? expand(given[name], inputs, `${where} with.${name}`) : String(spec.default ?? "");
    if (spec.required && !value) throw new Error(`${where}: required input ${name} is empty`);
    if (value.startsWith("/")) {
      // A folder on the runner machine: the persistent volume is stood in for under the machine's root; nothing else outside it.
      if (!value.startsWith(PERSISTENT))
        throw new Error(`${where}: input ${name} (${value}) is a path the test cannot stand in for`);
      value = path.join(m.root, value);
    }
    inputEnv[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = value;
  }
  return spawnStep(process.execPath, [path.join(dir, action.runs.main)], m.workspace, { ...env, ...inputEnv }, watch);
}

describe("the runner workflow template, run as a self-hosted runner runs it", () => {
  const ISSUE = 21;
  const BRANCH = `inspect/${ISSUE}-login-page-crashes`;
  const work = mkdtempSync(path.join(os.tmpdir(), "inspect-runner-template-"));
  const gitRoot = path.join(work, "git");
  const machine = newMachine(path.join(work, "machine"));
  let bare: string;
  let fake: FakeGhe;
  let model: ModelServer;
  let issuer: TestIssuer;
  let db: Database;
  let inspect: Inspect;
  let controlPlane: string;
  let tokenService: TokenService;
  let dispatch: WorkflowDispatch | undefined;

  beforeAll(async () => {
    bare = bareRepo(path.join(gitRoot, "acme"), "widgets", {
      "README.md": "# widgets\n",
      "src/login.ts": "export const login = () => null;\n",
    });
    git(bare, "config", "http.receivepack", "true");
    fake = await startFakeGhe(gitRoot, bare, {
      owner: "acme",
      repo: "widgets",
      runnerRepo: "inspect-runner",
      installationId: 77,
      runnerInstallationId: 88,
    });
    fake.permissions.set("alice", "write");
    model = await startModelServer();
    issuer = await startIssuer();
    db = await openDatabase({ dataDir: "memory://" });
    // The control plane's public URL is where this runner reaches it: the dispatch's control_plane_url
    // goes into the job unchanged, and is the OIDC audience on both sides.
    const port = await freePort();
    controlPlane = `http://127.0.0.1:${port}`;
    inspect = await testInspect(
      fakeGheEnv(fake, model, path.join(work, "data"), {
        INSPECT_RUNNER: "actions",
        INSPECT_RUNNER_REPO: "acme/inspect-runner",
        INSPECT_OIDC_ISSUER: issuer.url,
        INSPECT_PUBLIC_URL: controlPlane,
      }),
      db,
    );
    await inspect.listen(port, "127.0.0.1");
    // The Actions token service: the token GitHub would mint for this job — a runner job's claims
    // (test/support/runner-client.ts) for the run the dispatch started, its workflow, repository and ref.
    tokenService = await startTokenService(issuer, "request-token", (audience) => {
      if (!dispatch) return null;
      const ref = dispatch.ref.startsWith("refs/") ? dispatch.ref : `refs/heads/${dispatch.ref}`;
      return jobClaims(dispatch.runId, {
        repository: dispatch.repo,
        workflow_ref: `${dispatch.repo}/.github/workflows/${dispatch.workflow}@${ref}`,
        event_name: "workflow_dispatch",
        ref,
        aud: audience,
      });
    });
    machine.tokenUrl = tokenService.url;
  });

  afterAll(async () => {
    await inspect?.close();
    await tokenService?.close();
    await issuer?.close();
    await model?.close();
    await fake?.close();
    await db?.close();
    const left = processesMentioning(work);
    rmSync(work, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it("checkout → npm ci of the pinned OpenCode from the registry → the action claims with OIDC and completes a session, its commit pushed", async () => {
    const workflow = parse(readFileSync(path.join(root, TEMPLATE), "utf8")) as Json;

    model.reset([
      toolStep({ name: "write", args: { filePath: "src/workaround.md", content: "Clear the cookie to log in.\n" } }),
      textStep("Documented the login workaround in src/workaround.md."),
    ]);
    expect(
      (
        await deliver(
          inspect,
          "issue_comment",
          issueComment("@inspect document the login workaround", { issue: ISSUE, login: "alice" }),
        )
      ).status,
    ).toBe(200);
    await inspect.tasks.drain();
    const session = (await listSessions(db.db)).find((s) => s.threadNumber === ISSUE)!;
    expect(fake.dispatches).toHaveLength(1);
    dispatch = fake.dispatches[0]!;
    expect(dispatch).toMatchObject({ repo: "acme/inspect-runner", workflow: "inspect-runner.yml" });

    // The dispatch gives only inputs the template declares, the required ones among them.
    const inputs = Object.fromEntries(Object.entries(dispatch.inputs).map(([k, v]) => [k, String(v)]));
    expect(inputs).toEqual({ session_id: session.id, control_plane_url: controlPlane });
    expect(expand(workflow["run-name"], jobInputs(workflow, inputs), "run-name")).toBe(session.id);

    const seen = new Set<string>();
    const started = Date.now();
    const steps = await runJob(workflow, inputs, machine, () => {
      for (const line of processesMentioning(machine.root)) {
        try {
          seen.add(readlinkSync(`/proc/${line.split(" ")[0]}/exe`));
        } catch {
          // Gone meanwhile.
        }
      }
    });
    const took = Date.now() - started;
    const log = await inspect.sessions.deps.events.list(session.id, 0);
    const report =
      steps.map((s) => `── ${s.name}: exit ${s.code}\n${s.output}`).join("\n") +
      `\n${JSON.stringify(log.filter((e) => e.type === "error"))}`;
    const templateSteps = (Object.values(workflow.jobs as Json)[0] as Json).steps as Json[];
    expect(
      steps.map((s) => [s.name, s.code]),
      report,
    ).toEqual(templateSteps.map((s) => [s.name ?? s.uses, 0]));
    console.log(`runner template job: ${(took / 1000).toFixed(1)} s (${steps.map((s) => s.name).join(" → ")})`);

    // The install step: exactly the locked packages (OpenCode's platform packages, the browser's CLI
    // and its dependencies), from the registry, with the locked versions; OpenCode's are native binaries.
    const action = path.join(machine.workspace, ".inspect-runtime", "action");
    const lock = JSON.parse(readFileSync(path.join(action, "package-lock.json"), "utf8"));
    const locked = Object.keys(lock.packages)
      .filter((p) => p !== "" && !p.includes("/node_modules/"))
      .map((p) => p.replace(/^node_modules\//, ""));
    const installed = readdirSync(path.join(action, "node_modules"))
      .filter((n) => !n.startsWith("."))
      .flatMap((n) =>
        n.startsWith("@") ? readdirSync(path.join(action, "node_modules", n)).map((m) => `${n}/${m}`) : [n],
      );
    expect(installed.sort()).toEqual(locked.sort());
    for (const name of locked) {
      expect(JSON.parse(readFileSync(path.join(action, "node_modules", name, "package.json"), "utf8")).version).toBe(
        lock.packages[`node_modules/${name}`].version,
      );
    }
    for (const name of platformPackages().filter((n) => locked.includes(n)))
      expect(isNativeExecutable(path.join(action, "node_modules", name, "bin", "opencode"))).toBe(true);
    expect(
      readdirSync(path.join(machine.root, "npm-cache")).length,
      "npm downloaded into the clean cache",
    ).toBeGreaterThan(0);

    // The action step: claimed with the job's OIDC token, ran the OpenCode the install step put in the workspace.
    const output = steps.at(-1)!.output;
    expect(tokenService.audiences).toEqual([controlPlane]);
    expect(output).toContain(`claimed session ${session.id} (acme/widgets, branch ${BRANCH})`);
    expect(output).toContain("checkout ready from clone");
    expect(output).toContain("exited (idle)");
    const opencode = path.join(action, "node_modules", platformPackages()[0]!, "bin", "opencode");
    expect([...seen], [...seen].join("\n")).toContain(opencode);

    // The session: done, alice's commit on the branch in the bare repository behind the fake, session completed.
    const finished = log.filter(
      (e): e is Extract<SessionEvent, { type: "prompt.finished" }> => e.type === "prompt.finished",
    );
    expect(
      finished.map((e) => e.data.status),
      report,
    ).toEqual(["done"]);
    const sha = finished[0]!.data.commits[0]!.sha;
    const bareGit = (...args: string[]) =>
      execFileSync("git", ["--git-dir", bare, ...args], { encoding: "utf8" }).trim();
    expect(bareGit("rev-parse", `refs/heads/${BRANCH}`)).toBe(sha);
    expect(bareGit("show", `${sha}:src/workaround.md`)).toBe("Clear the cookie to log in.");
    expect(bareGit("log", "-1", "--format=%an", sha)).toBe("alice");
    expect(log.filter((e) => e.type === "git.push").map((e) => e.data)).toEqual([{ branch: BRANCH, sha }]);
    expect((await listPrompts(db.db, session.id)).map((p) => p.status)).toEqual(["done"]);
    expect((await getSession(db.db, session.id))?.status).toBe("completed");

    // The checkout stayed on the machine's persistent volume as the snapshot (the template's snapshot-dir).
    const snapshotDir = templateSteps.find((s) => s.with?.["snapshot-dir"])?.with["snapshot-dir"];
    expect(snapshotDir).toMatch(new RegExp(`^${PERSISTENT}`));
    expect(output).toContain("snapshot saved");
    expect(existsSync(path.join(snapshotPath(path.join(machine.root, snapshotDir), "acme", "widgets"), ".git"))).toBe(
      true,
    );

    expect(await waitForNoProcesses(machine.root, 5_000)).toEqual([]);
  }, 180_000);

  it("a warm pool slot's dispatch (slot_id, no session_id): the run is named after the slot, one concurrency group per slot, and the action is given slot-id alone", () => {
    const workflow = parse(readFileSync(path.join(root, TEMPLATE), "utf8")) as Json;
    const [, job] = Object.entries(workflow.jobs as Json)[0]!;
    const action = (job.steps as Json[]).find((s) => String(s.uses).startsWith("./"))!;
    const declared = parse(readFileSync(path.join(root, "action", "action.yml"), "utf8")).inputs as Json;
    expect(declared["slot-id"]).toMatchObject({ required: false });
    expect(declared["session-id"]).toMatchObject({ required: false });
    const forSlot = jobInputs(workflow, { slot_id: "slotAbc123", control_plane_url: "https://inspect.test" });
    const forSession = jobInputs(workflow, { session_id: "sessXyz789", control_plane_url: "https://inspect.test" });
    expect(expand(workflow["run-name"], forSlot, "run-name")).toBe("slotAbc123");
    expect(expand(workflow.concurrency.group, forSlot, "concurrency")).toBe("inspect-slotAbc123");
    expect(expand(workflow.concurrency.group, forSession, "concurrency")).toBe("inspect-sessXyz789");
    const given = (inputs: Record<string, string>) =>
      Object.fromEntries(Object.entries(action.with as Json).map(([k, v]) => [k, expand(v, inputs, `with.${k}`)]));
    expect(given(forSlot)).toMatchObject({ "session-id": "", "slot-id": "slotAbc123" });
    expect(given(forSession)).toMatchObject({ "session-id": "sessXyz789", "slot-id": "" });
    // Neither, or an input the template does not declare: the job cannot start.
    expect(() => jobInputs(workflow, { control_plane_url: "https://inspect.test", other: "x" })).toThrow(/other/);
  });

  it("the install step fails, saying why, when npm could not download OpenCode (npm itself skips an optional package and exits 0)", async () => {
    const workflow = parse(readFileSync(path.join(root, TEMPLATE), "utf8")) as Json;
    const [jobId, job] = Object.entries(workflow.jobs as Json)[0]!;
    const upToInstall = {
      ...workflow,
      jobs: { [jobId]: { ...job, steps: (job.steps as Json[]).filter((s) => !String(s.uses).startsWith("./")) } },
    };
    const offline = newMachine(path.join(work, "offline"));
    // Nothing listens on port 9 (discard): every registry request is refused at once.
    offline.env = { npm_config_registry: "http://127.0.0.1:9/", npm_config_fetch_retries: "0" };
    const steps = await runJob(
      upToInstall,
      { session_id: "s1", control_plane_url: "http://127.0.0.1:9" },
      offline,
      () => {},
    );
    expect(steps.map((s) => s.code)).toEqual([0, 1]);
    expect(steps[1]!.output).toContain(
      "::error::npm installed no OpenCode binary (it skips an optional package it cannot download); see its output above",
    );
  }, 60_000);
});
