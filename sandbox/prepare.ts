/**
 * Getting a sandbox ready for its first prompt: start OpenCode (slow) while the checkout is
 * prepared, then run the setup script while OpenCode opens the workspace. On failure
 * everything started here is stopped again before the error is thrown. A snapshot rebuild
 * (`prepareTree`) needs no agent: checkout and setup script only.
 */
import path from "node:path";
import type { NewEvent } from "../protocol/events.js";
import type { SessionSpec } from "../protocol/runner-api.js";
import { prepareCheckout, type Checkout } from "./git/checkout.js";
import type { Jail } from "./jail/jail.js";
import { openWorkspace, startAgentServer, type Workspace } from "./opencode/agent.js";
import { buildOpencodeConfig } from "./opencode/config.js";
import { instructionPaths, readRepoFiles, type RepoFiles } from "./opencode/repo-config.js";
import { startWarmupModel } from "./opencode/warmup.js";
import type { OpencodeServer } from "./opencode/server.js";
import type { Redactor } from "./redact.js";
import { runSetupScript } from "./setup-script.js";

export class PreparationError extends Error {
  /** Set once an error event has been sent for it, so it is reported once. */
  reported = false;
  /** What was prepared before a cancel, so the runtime can still keep the checkout. */
  partial?: { checkout: Checkout; reusable: boolean };
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "PreparationError";
  }
}

export interface PrepareOptions {
  spec: SessionSpec;
  /** Where the session's code runs: the checkout goes to `box/repo`, OpenCode's XDG dirs to `box/opencode`. */
  jail: Jail;
  snapshotRoot: string | null;
  useActionsCache?: boolean;
  redact: Redactor;
  emit: (events: NewEvent[]) => void;
  signal: AbortSignal;
  /**
   * Tear-down: ends what is still starting (OpenCode, the workspace and its warm-up) at once,
   * so a sandbox leaving before it was ready does not wait for them.
   */
  cancel?: AbortSignal;
  log: (line: string) => void;
  mark: (name: string) => void;
  /** Do OpenCode's lazy first-prompt setup before the first prompt (default true; the bench turns it off to compare). */
  warm?: boolean;
  /**
   * A pooled sandbox: OpenCode asks before every edit and command, so that a session's first
   * prompt can start reading before the checkout is synced (see opencode/permission-policy.ts).
   */
  askBeforeWrites?: boolean;
}

export interface Prepared {
  checkout: Checkout;
  server: OpencodeServer;
  workspace: Workspace;
  /** False when the setup script failed or timed out (the session goes on regardless). */
  setupOk: boolean;
  /**
   * Fit to start the next session from (snapshot, cache): a clone whose setup worked, or a
   * restored checkout whose setup was not cut short — a killed `npm install` can leave a
   * half-installed tree that must not become the next session's starting point.
   */
  reusable: boolean;
}

/** What a snapshot rebuild prepares: the checkout at the newest base branch, its setup script run. */
export type PreparedTree = Pick<Prepared, "checkout" | "setupOk" | "reusable">;

const isReusable = (c: Checkout, setup: SetupOutcome) => setup.ok || (c.source !== "clone" && !setup.cutShort);

/** The checkout (snapshot, Actions cache or clone, on the spec's branch) and the repository's own files read from it. */
async function checkoutWithFiles(o: PrepareOptions): Promise<{ checkout: Checkout; repoFiles: RepoFiles }> {
  let checkout: Checkout;
  try {
    checkout = await prepareCheckout({
      spec: o.spec,
      dir: path.join(o.jail.box, "repo"),
      jail: o.jail,
      snapshotRoot: o.snapshotRoot,
      redact: o.redact,
      useActionsCache: o.useActionsCache,
      log: o.log,
    });
  } catch (error) {
    throw new PreparationError(`Preparing the checkout failed: ${(error as Error).message}`, "checkout_failed");
  }
  o.mark("checkout");
  o.log(`checkout ready from ${checkout.source} at ${checkout.sha.slice(0, 12)}`);
  const repoFiles = await readRepoFiles({ jail: o.jail, dir: checkout.dir, baseBranch: o.spec.baseBranch, log: o.log });
  if (repoFiles.instructions.length)
    o.log(`repository instructions from ${o.spec.baseBranch}: ${repoFiles.instructions.join(", ")}`);
  return { checkout, repoFiles };
}

/**
 * A snapshot rebuild (a pool slot whose purpose is `rebuild`): fetch the newest base branch and
 * run the setup script, nothing more — no OpenCode, no warm-up turn: nobody prompts this sandbox.
 */
export async function prepareTree(o: PrepareOptions): Promise<PreparedTree> {
  let checkout: Checkout | null = null;
  let setup: SetupOutcome = { ok: false, cutShort: false };
  try {
    const got = await checkoutWithFiles(o);
    checkout = got.checkout;
    setup = await runSetup(o, checkout, got.repoFiles);
    o.mark("setup");
    return { checkout, setupOk: setup.ok, reusable: isReusable(checkout, setup) };
  } catch (error) {
    if (o.cancel?.aborted) {
      const cancelled = new PreparationError("The sandbox left before it was ready", "cancelled");
      if (checkout) cancelled.partial = { checkout, reusable: isReusable(checkout, setup) };
      throw cancelled;
    }
    throw error;
  }
}

export async function prepareSandbox(o: PrepareOptions): Promise<Prepared> {
  const warmup = o.warm === false ? null : await startWarmupModel();
  const config = buildOpencodeConfig(o.spec.opencodeConfig, o.spec.model);
  if (warmup) config.provider = { ...(config.provider as object | undefined), ...warmup.provider };
  if (o.askBeforeWrites) config.permission = askBeforeWrites(config.permission);
  const trustRepoConfig = o.spec.trustRepoConfig === true;
  if (!trustRepoConfig) {
    const operator = Array.isArray(config.instructions) ? (config.instructions as unknown[]) : [];
    config.instructions = [...operator, ...instructionPaths(o.jail.xfer)];
  }
  const serverStarting = startAgentServer({
    home: path.join(o.jail.box, "opencode"),
    cwd: o.jail.box,
    config,
    jail: o.jail,
    trustRepoConfig,
    onLog: (line) => o.log(`opencode: ${line}`),
    signal: o.cancel,
  });
  serverStarting.catch(() => undefined);
  let workspace: Workspace | null = null;
  const stopOpencode = async () => {
    workspace?.hub.close();
    await serverStarting.then(
      (s) => s.stop(),
      () => undefined,
    );
  };

  let checkout: Checkout | null = null;
  let setup: SetupOutcome = { ok: false, cutShort: false };
  const reusable = (c: Checkout) => isReusable(c, setup);
  try {
    const got = await checkoutWithFiles(o);
    checkout = got.checkout;
    const repoFiles = got.repoFiles;

    // The setup script and OpenCode's warm-up do not depend on each other.
    const opencodeReady = serverStarting
      .then(async (s) => {
        o.mark("opencode");
        workspace = await openWorkspace(s, checkout!.dir, `Inspect ${o.spec.id}`, { warm: o.warm, signal: o.cancel });
        o.mark("workspace");
        return { server: s, workspace };
      })
      .catch((error: Error) => {
        throw new PreparationError(`OpenCode did not start: ${error.message}`, "opencode_failed");
      });
    opencodeReady.catch(() => undefined);

    setup = await runSetup(o, checkout, repoFiles);
    o.mark("setup");
    const ready = await opencodeReady;
    return { checkout, ...ready, setupOk: setup.ok, reusable: reusable(checkout) };
  } catch (error) {
    await stopOpencode();
    if (o.cancel?.aborted) {
      const cancelled = new PreparationError("The sandbox left before it was ready", "cancelled");
      if (checkout) cancelled.partial = { checkout, reusable: reusable(checkout) };
      throw cancelled;
    }
    throw error;
  } finally {
    await warmup?.close();
  }
}

/** `edit` and `bash` become "ask" unless the operator restricted them already (deny, or per-pattern rules). */
function askBeforeWrites(permission: unknown): Record<string, unknown> {
  const rules = { ...(permission as Record<string, unknown> | undefined) };
  for (const key of ["edit", "bash"]) if (rules[key] === undefined || rules[key] === "allow") rules[key] = "ask";
  return rules;
}

interface SetupOutcome {
  ok: boolean;
  /** Killed before it finished: by a stop, an exit, a signal or its timeout. */
  cutShort: boolean;
}

async function runSetup(o: PrepareOptions, checkout: Checkout, repoFiles: RepoFiles): Promise<SetupOutcome> {
  const { spec, emit } = o;
  const result = await runSetupScript({
    dir: checkout.dir,
    script: repoFiles.setupScript,
    jail: o.jail,
    timeoutMs: spec.setupTimeoutMs,
    env: o.jail.env(),
    signal: o.signal,
    onOutput: (stream, text) => emit([{ type: "setup.output", data: { stream, text: text.slice(0, 20_000) } }]),
  });
  if (!result) return { ok: true, cutShort: false };
  emit([{ type: "setup.finished", data: result }]);
  // Cut short by a stop, an exit or a signal: that is reported where it happened.
  if (o.signal.aborted) return { ok: false, cutShort: true };
  if (result.timedOut) {
    emit([
      {
        type: "error",
        data: {
          message: `.inspect/setup.sh timed out after ${Math.round(spec.setupTimeoutMs / 1000)} s; continuing without it`,
          code: "setup_timeout",
        },
      },
    ]);
  } else if (result.exitCode !== 0) {
    emit([
      {
        type: "error",
        data: {
          message: `.inspect/setup.sh failed with exit code ${result.exitCode}; continuing`,
          code: "setup_failed",
        },
      },
    ]);
  }
  return { ok: result.exitCode === 0, cutShort: result.timedOut };
}
