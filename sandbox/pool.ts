/**
 * A pooled runner (app/pool): claim a slot — not a session — prepare the sandbox from the
 * repository's default branch (snapshot, setup script, OpenCode booted and warmed), then
 * long-poll until a session is assigned. It holds no session token and no write token until
 * then. Assigned, it becomes that session's runner (`runSandbox` with the claim it was handed);
 * told to exit (recycled, replaced, shut down), it hands its checkout back as the snapshot.
 *
 * A slot whose purpose is `rebuild` only brings the repository's snapshot to the newest default
 * branch: checkout and setup script, no OpenCode and no warm-up turn; once ready it is told to
 * leave and hands the checkout back.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { NewEvent } from "../protocol/events.js";
import type { PoolClaimResponse, PoolSpec, SessionSpec } from "../protocol/runner-api.js";
import { handBackCheckout } from "./git/snapshot.js";
import { PreparationError, prepareSandbox, prepareTree, type Prepared, type PreparedTree } from "./prepare.js";
import { killAllGroups } from "./proc/group.js";
import { configSecrets, createRedactor, type Redactor } from "./redact.js";
import { RunnerApiError, RunnerClient } from "./runner-client.js";
import { makeJail, runSandbox, type RuntimeOptions, type RuntimeResult } from "./runtime.js";
import type { SessionCredential } from "./mcp/children-api.js";
import { agentOpencodeConfig } from "./mcp/agent-config.js";
import { startInspectTools } from "./mcp/inspect-tools.js";

export interface PooledOptions extends Omit<RuntimeOptions, "sessionId" | "claimed" | "pooled"> {
  slotId: string;
  /** Already claimed (the Action claims with its OIDC token before it starts the runtime): skip the claim. */
  claimed?: PoolClaimResponse;
}

/** Setup output kept for the session that takes the sandbox (the rest is cut). */
const MAX_BUFFERED_EVENTS = 200;
const PREPARING_WAIT_SECONDS = 2;
const READY_WAIT_SECONDS = 20;

export async function runPooled(options: PooledOptions): Promise<RuntimeResult> {
  const started = Date.now();
  const mark = (name: string) => options.onMark?.(name, Date.now() - started);
  let redact: Redactor = createRedactor([options.claimToken]);
  const log = (line: string) => (options.log ?? ((l) => process.stderr.write(`[sandbox] ${l}\n`)))(redact(line));

  const api = new RunnerClient(options.controlPlaneUrl, { log });
  const { slotToken, pool } = options.claimed
    ? api.adoptSlot(options.claimed)
    : await api.claimSlot(options.claimToken, options.slotId);
  const rebuild = pool.purpose === "rebuild";
  redact = createRedactor([options.claimToken, slotToken, pool.gitToken, ...configSecrets(pool.opencodeConfig)]);
  mark("claimed");
  log(
    `claimed pool slot ${pool.slotId} (${pool.repo.fullName} at ${pool.baseBranch})${rebuild ? " to rebuild its snapshot" : ""}`,
  );

  const workDir = options.workDir ?? mkdtempSync(path.join(tmpdir(), "inspect-sandbox-"));
  const sessionDir = path.join(workDir, "sessions", pool.slotId);
  mkdirSync(sessionDir, { recursive: true });
  const { jail, problem } = makeJail(options, workDir, sessionDir);
  if (problem) {
    log(`the sandbox boundary is not in place: ${problem}`);
    rmSync(sessionDir, { recursive: true, force: true });
    return { reason: "error", error: problem };
  }

  const shutdown = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`received ${sig}, shutting down`);
    shutdown.abort(sig);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  options.signal?.addEventListener("abort", () => shutdown.abort("signal"), { once: true });

  // The agent's own tools must be in OpenCode's config from its start; they answer once a session is assigned.
  // A rebuild has no agent: neither these tools nor OpenCode.
  let credential: SessionCredential | null = null;
  const tools = rebuild
    ? null
    : await startInspectTools(() => credential, log).catch((error: Error) => {
        log(`Inspect's tools did not start: ${error.message}`);
        return null;
      });
  const setupEvents: NewEvent[] = [];
  const teardown = new AbortController();
  const prepare = {
    spec: standIn(pool),
    jail,
    snapshotRoot: options.snapshotRoot ?? null,
    useActionsCache: options.useActionsCache,
    redact,
    emit: (events: NewEvent[]) => setupEvents.push(...events.slice(0, MAX_BUFFERED_EVENTS - setupEvents.length)),
    signal: shutdown.signal,
    cancel: teardown.signal,
    log,
    mark,
  };
  const preparing: Promise<Prepared | PreparedTree> = jail.start().then(() =>
    rebuild
      ? prepareTree(prepare)
      : prepareSandbox({
          ...prepare,
          spec: {
            ...prepare.spec,
            opencodeConfig: agentOpencodeConfig(pool.opencodeConfig, tools, pool.browser, jail.box),
          },
          askBeforeWrites: true,
        }),
  );
  let ready: Prepared | PreparedTree | null = null;
  let failed: unknown = null;
  let crashed: string | null = null;
  preparing.then(
    (p) => {
      ready = p;
      mark("ready");
      if (!("server" in p)) return log("snapshot ready; handing it back");
      log("ready; waiting for a session");
      void p.server.exited.then((why) => (crashed = why));
    },
    (error) => (failed = error),
  );

  let outcome: { assigned: Parameters<typeof runSandbox>[0]["claimed"] } | { exit: string; error?: boolean };
  for (;;) {
    if (shutdown.signal.aborted) outcome = { exit: "stopped" };
    else if (failed) outcome = { exit: `preparing failed: ${(failed as Error).message}`, error: true };
    else if (crashed) outcome = { exit: `OpenCode ended: ${crashed}`, error: true };
    else {
      try {
        const wait = ready ? READY_WAIT_SECONDS : PREPARING_WAIT_SECONDS;
        const next = await api.poolNext(pool.slotId, slotToken, wait, ready !== null, shutdown.signal);
        if (next.kind === "none") continue;
        outcome = next.kind === "assign" ? { assigned: next.claim } : { exit: next.reason };
      } catch (error) {
        if (shutdown.signal.aborted) continue;
        const final = error instanceof RunnerApiError && error.status < 500 && error.status !== 429;
        if (!final && !api.contactLost()) {
          await new Promise((r) => setTimeout(r, 1_000));
          continue;
        }
        outcome = { exit: `the control plane ended this runner: ${(error as Error).message}`, error: true };
      }
    }
    break;
  }
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);

  const agent = ready as Prepared | PreparedTree | null;
  if ("assigned" in outcome && agent && "server" in agent) {
    const prepared: Prepared = agent;
    log(`assigned session ${outcome.assigned!.session.id}`);
    const { session, sessionToken } = outcome.assigned!;
    credential = { controlPlaneUrl: options.controlPlaneUrl, sessionId: session.id, token: sessionToken };
    return runSandbox({
      ...options,
      sessionId: "",
      claimed: outcome.assigned,
      pooled: { jail, sessionDir, prepared, setupEvents, tools },
    });
  }

  const why = "exit" in outcome ? outcome.exit : "assigned before it was ready";
  log(`leaving the pool: ${why}`);
  teardown.abort();
  let partial: PreparationError["partial"];
  const done = await preparing.catch((error) => {
    if (error instanceof PreparationError) partial = error.partial;
    return null;
  });
  if (done && "server" in done) {
    done.workspace.hub.close();
    await done.server.stop().catch(() => undefined);
  }
  await tools?.close();
  await jail.close();
  await killAllGroups();
  const kept = done ?? partial;
  if (kept?.reusable && options.snapshotRoot) {
    await handBackCheckout({
      dir: kept.checkout.dir,
      owner: pool.repo.owner,
      name: pool.repo.name,
      sha: kept.checkout.sha,
      source: kept.checkout.source,
      cachedAt: kept.checkout.cachedAt,
      snapshotRoot: options.snapshotRoot,
      useActionsCache: options.useActionsCache,
      // A rebuild's checkout is the newest default branch with its setup done: other runners get it too.
      refreshCache: rebuild && !!done,
      jail: kept.checkout.jail,
      log,
    }).catch((error) => log(`saving the snapshot failed: ${(error as Error).message}`));
  }
  rmSync(sessionDir, { recursive: true, force: true });
  const error = "exit" in outcome && outcome.error;
  return error ? { reason: "error", error: why } : { reason: "exit" };
}

/**
 * What preparation needs of a session, for a sandbox that has none yet: the default branch,
 * checked out on a local branch of the slot's (never pushed; the session's branch replaces it).
 */
function standIn(pool: PoolSpec): SessionSpec {
  return {
    id: pool.slotId,
    repo: pool.repo,
    cloneUrl: pool.cloneUrl,
    baseBranch: pool.baseBranch,
    headBranch: `inspect-pool/${pool.slotId}`,
    headExists: false,
    gitToken: pool.gitToken,
    gitTokenExpiresAt: pool.gitTokenExpiresAt,
    committer: { name: "Inspect", email: "inspect@localhost" },
    model: pool.model,
    opencodeConfig: pool.opencodeConfig,
    idleTimeoutMs: pool.heartbeatTimeoutMs,
    heartbeatIntervalMs: Math.max(1_000, Math.floor(pool.heartbeatTimeoutMs / 3)),
    heartbeatTimeoutMs: pool.heartbeatTimeoutMs,
    setupTimeoutMs: pool.setupTimeoutMs,
    sessionUrl: "",
    trustRepoConfig: pool.trustRepoConfig,
  };
}
