/**
 * The GitHub Action: prove who we are with the job's OIDC token (audience = the control
 * plane), claim the session with it, and run the same sandbox runtime the local dispatcher
 * starts. The token is masked in the log and never leaves this process except as the
 * claim bearer.
 */
import * as core from "@actions/core";
import path from "node:path";
import { actionsCacheAvailable } from "../../sandbox/git/snapshot.js";
import { runSandbox } from "../../sandbox/runtime.js";

async function main(): Promise<void> {
  const sessionId = core.getInput("session-id", { required: true });
  const controlPlaneUrl = core.getInput("control-plane-url", { required: true }).replace(/\/+$/, "");
  const audience = core.getInput("audience") || controlPlaneUrl;
  const snapshotDir = core.getInput("snapshot-dir") || process.env.INSPECT_SNAPSHOT_DIR || null;

  let token: string;
  try {
    token = await core.getIDToken(audience);
  } catch (error) {
    core.setFailed(`Could not get an OIDC token (does the workflow have \`permissions: id-token: write\`?): ${(error as Error).message}`);
    return;
  }
  core.setSecret(token);

  // Snapshot folder first, then the Actions cache where this job can reach it, else a clone.
  const useActionsCache = await actionsCacheAvailable();
  core.info(`checkout sources: snapshot folder ${snapshotDir ?? "(none)"}; Actions cache ${useActionsCache ? "available" : "unavailable"}; else clone`);
  const workDir = path.join(process.env.RUNNER_TEMP || process.cwd(), "inspect", sessionId.replace(/[^\w.-]/g, "_"));
  const result = await runSandbox({
    controlPlaneUrl,
    sessionId,
    claimToken: token,
    workDir,
    snapshotRoot: snapshotDir,
    useActionsCache,
    log: (line) => core.info(line),
  });
  if (result.reason === "error") core.setFailed(result.error ?? "the sandbox failed");
}

main().catch((error: Error) => core.setFailed(error.message));
