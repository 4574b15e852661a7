/**
 * Entry point of the sandbox runtime as a process (the control plane's local dispatcher
 * starts it with `node --import tsx sandbox/main.ts`). Configuration comes from the
 * environment; the token is read once and never printed.
 *
 *   INSPECT_CONTROL_PLANE_URL  base URL of the control plane
 *   INSPECT_SESSION_ID         the session to claim
 *   INSPECT_POOL_SLOT_ID       or: the warm pool's slot to claim (sandbox/pool.ts), instead of a session
 *   INSPECT_RUNNER_TOKEN       bearer for POST /api/runner/claim
 *   INSPECT_WORK_DIR           folder for checkouts and OpenCode's dirs (default: temp)
 *   INSPECT_SNAPSHOT_DIR       persistent snapshot folder (default: none)
 *   INSPECT_SANDBOX_USER       run the session's code as this user in bubblewrap (default: as ourselves)
 *   INSPECT_SANDBOX_HIDE       JSON array of paths the session's code must not see
 */
import { runPooled } from "./pool.js";
import { runSandbox } from "./runtime.js";

// Our output goes to the control plane that started us. If it crashed, the pipe is broken;
// the runner keeps working (and reconnects to the next control plane) rather than die of EPIPE.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`[sandbox] ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

const controlPlaneUrl = required("INSPECT_CONTROL_PLANE_URL");
const slotId = process.env.INSPECT_POOL_SLOT_ID;
const sessionId = slotId ? "" : required("INSPECT_SESSION_ID");
const claimToken = required("INSPECT_RUNNER_TOKEN");

function pathList(name: string): string[] {
  const raw = process.env[name];
  if (!raw) return [];
  try {
    const list = JSON.parse(raw) as unknown;
    if (Array.isArray(list) && list.every((p) => typeof p === "string")) return list;
  } catch {
    /* below */
  }
  process.stderr.write(`[sandbox] ${name} must be a JSON array of paths\n`);
  process.exit(2);
}

try {
  const common = {
    controlPlaneUrl,
    claimToken,
    workDir: process.env.INSPECT_WORK_DIR || undefined,
    snapshotRoot: process.env.INSPECT_SNAPSHOT_DIR || null,
    sandboxUser: process.env.INSPECT_SANDBOX_USER || null,
    hide: pathList("INSPECT_SANDBOX_HIDE"),
  };
  const result = slotId ? await runPooled({ ...common, slotId }) : await runSandbox({ ...common, sessionId });
  process.exit(result.reason === "error" ? 1 : 0);
} catch (error) {
  // Only a failed claim gets here; its message never contains the token.
  process.stderr.write(`[sandbox] ${(error as Error).message}\n`);
  process.exit(1);
}
