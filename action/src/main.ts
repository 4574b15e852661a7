/**
 * The GitHub Action, in two processes (prepare and run kept apart, as claude-code-action does):
 *
 * 1. This process holds the job's credentials (the OIDC request token, the runner's
 *    environment). It mints the OIDC token, claims the session — or, for the warm pool, the slot
 *    (app/pool; the runtime then prepares and waits for a session, sandbox/pool.ts) — with it, and starts
 * 2. the runtime: this same file as a child whose environment is an allow-list — no
 *    `ACTIONS_*` request or runtime token, no `GITHUB_TOKEN` — and which gets the claim (and,
 *    when the Actions cache is used, that service's URL and token) over a pipe, so nothing of
 *    it shows in `/proc/<pid>/environ`. The runtime in turn runs the session's code as the
 *    sandbox user in bubblewrap, where neither process is visible.
 */
import * as core from "@actions/core";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InspectId } from "../../protocol/ids.js";
import { ClaimResponse, PoolClaimResponse } from "../../protocol/runner-api.js";
import { actionsCacheAvailable } from "../../sandbox/git/snapshot.js";
import { DEFAULT_SANDBOX_USER } from "../../sandbox/jail/boundary.js";
import { runPooled } from "../../sandbox/pool.js";
import { RunnerClient } from "../../sandbox/runner-client.js";
import { runSandbox } from "../../sandbox/runtime.js";
import { z } from "zod";

const CHILD_FLAG = "INSPECT_ACTION_RUNTIME";

/** What the runtime child may inherit from the job's environment. */
const ALLOWED_ENV = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "RUNNER_TEMP",
  "RUNNER_TOOL_CACHE",
  "RUNNER_OS",
  "RUNNER_ARCH",
  "INSPECT_OPENCODE_BIN",
];
/** The Actions cache service (only passed on, over the pipe, when it is used). */
const CACHE_ENV = ["ACTIONS_RESULTS_URL", "ACTIONS_CACHE_URL", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_CACHE_SERVICE_V2"];

const Handover = z.object({
  controlPlaneUrl: z.string(),
  /** What the OIDC token claimed: a session, or a warm pool slot. */
  claimed: z.union([z.object({ session: ClaimResponse }), z.object({ slot: PoolClaimResponse })]),
  workDir: z.string(),
  snapshotDir: z.string().nullable(),
  useActionsCache: z.boolean(),
  cacheEnv: z.record(z.string(), z.string()),
  sandboxUser: z.string(),
  hide: z.array(z.string()),
  reveal: z.array(z.string()),
});
type Handover = z.infer<typeof Handover>;

/** The runner's own folders: its install (credentials), its work folder (other jobs, step files). */
export function runnerPaths(
  env: NodeJS.ProcessEnv = process.env,
  execPath = process.execPath,
): { hide: string[]; reveal: string[] } {
  const hide: string[] = [];
  const reveal: string[] = [];
  if (env.RUNNER_TEMP) hide.push(env.RUNNER_TEMP, path.dirname(env.RUNNER_TEMP));
  // The runner runs actions with its bundled node: <runner>/externals/node24/bin/node.
  const externals = execPath.lastIndexOf(`${path.sep}externals${path.sep}`);
  if (externals > 0) hide.push(execPath.slice(0, externals));
  if (env.RUNNER_TOOL_CACHE) reveal.push(env.RUNNER_TOOL_CACHE);
  return { hide, reveal };
}

/** The one thing the job is for: `session-id` or `slot-id`, exactly one (a workflow input is an id, nothing else). */
function target(): { kind: "session" | "slot"; id: string } | string {
  const sessionId = core.getInput("session-id");
  const slotId = core.getInput("slot-id");
  if (sessionId && slotId)
    return "Give the action session-id or slot-id, not both (the runner workflow passes inputs.session_id and inputs.slot_id, one of them empty)";
  const id = sessionId || slotId;
  if (!id)
    return "Give the action session-id or slot-id (the runner workflow passes the dispatch's inputs.session_id or inputs.slot_id)";
  if (!InspectId.safeParse(id).success)
    return `${sessionId ? "session-id" : "slot-id"} is not an Inspect id: ${JSON.stringify(id.slice(0, 80))}`;
  return { kind: sessionId ? "session" : "slot", id };
}

async function prepare(): Promise<void> {
  const job = target();
  if (typeof job === "string") return core.setFailed(job);
  const controlPlaneUrl = core.getInput("control-plane-url", { required: true }).replace(/\/+$/, "");
  const audience = core.getInput("audience") || controlPlaneUrl;
  const snapshotDir = core.getInput("snapshot-dir") || process.env.INSPECT_SNAPSHOT_DIR || null;
  const sandboxUser = core.getInput("sandbox-user") || DEFAULT_SANDBOX_USER;

  let token: string;
  try {
    token = await core.getIDToken(audience);
  } catch (error) {
    core.setFailed(
      `Could not get an OIDC token (does the workflow have \`permissions: id-token: write\`?): ${(error as Error).message}`,
    );
    return;
  }
  core.setSecret(token);

  let claimed: Handover["claimed"];
  try {
    const client = new RunnerClient(controlPlaneUrl);
    claimed =
      job.kind === "session"
        ? { session: await client.claim(token, job.id) }
        : { slot: await client.claimSlot(token, job.id) };
  } catch (error) {
    core.setFailed(
      `Could not claim ${job.kind === "slot" ? "pool slot" : "session"} ${job.id}: ${(error as Error).message}`,
    );
    return;
  }
  // The session and git tokens are not masked with ::add-mask:: (that would print them): the
  // runtime's own log passes its redactor.

  // Snapshot folder first, then the Actions cache where this job can reach it, else a clone.
  const useActionsCache = await actionsCacheAvailable();
  core.info(
    `checkout sources: snapshot folder ${snapshotDir ?? "(none)"}; Actions cache ${useActionsCache ? "available" : "unavailable"}; else clone`,
  );
  const cacheEnv: Record<string, string> = {};
  if (useActionsCache) for (const key of CACHE_ENV) if (process.env[key]) cacheEnv[key] = process.env[key]!;
  const { hide, reveal } = runnerPaths();
  const handover: Handover = {
    controlPlaneUrl,
    claimed,
    workDir: path.join(process.env.RUNNER_TEMP || process.cwd(), "inspect", job.id),
    snapshotDir,
    useActionsCache,
    cacheEnv,
    sandboxUser,
    hide,
    reveal,
  };

  const env: Record<string, string> = { [CHILD_FLAG]: "1" };
  for (const key of ALLOWED_ENV) if (process.env[key]) env[key] = process.env[key]!;
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self], { env, stdio: ["pipe", "inherit", "inherit"] });
  // The runner's cancel signals reach us; the runtime shuts down cleanly on its own signal.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGTERM", forward);
  process.on("SIGINT", forward);
  child.stdin!.end(JSON.stringify(handover));
  const code = await new Promise<number | null>((resolve) => {
    child.once("error", (error) => {
      core.error(`The runtime could not start: ${error.message}`);
      resolve(null);
    });
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  if (code !== 0)
    core.setFailed(
      `The session runtime ended with ${code === null ? "an error" : `exit code ${code}`} (its log is above)`,
    );
}

async function runtime(): Promise<void> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const handover = Handover.parse(JSON.parse(text));
  // In this process's memory only: @actions/cache reads them from process.env at call time.
  Object.assign(process.env, handover.cacheEnv);
  const common = {
    controlPlaneUrl: handover.controlPlaneUrl,
    claimToken: "",
    workDir: handover.workDir,
    snapshotRoot: handover.snapshotDir,
    useActionsCache: handover.useActionsCache,
    sandboxUser: handover.sandboxUser,
    hide: handover.hide,
    reveal: handover.reveal,
    log: (line: string) => core.info(line),
  };
  const { claimed } = handover;
  const result =
    "slot" in claimed
      ? await runPooled({ ...common, slotId: claimed.slot.pool.slotId, claimed: claimed.slot })
      : await runSandbox({ ...common, sessionId: claimed.session.session.id, claimed: claimed.session });
  if (result.reason === "error") {
    core.error(result.error ?? "the sandbox failed");
    process.exitCode = 1;
  }
}

const main = process.env[CHILD_FLAG] === "1" ? runtime : prepare;
main().catch((error: Error) => core.setFailed(error.message));
