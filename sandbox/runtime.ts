/**
 * The sandbox runtime: claim → (OpenCode starting while) checkout → setup script → prompt
 * loop → exit. Called by `sandbox/main.ts` (local dispatcher) and by the GitHub Action, which
 * differ only in the bearer used to claim.
 *
 * Every exit path — idle, exit instruction, signal, crash, failed preparation — ends with the
 * OpenCode server and every child process group killed and (when possible) POST /exit.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { NewEvent } from "../protocol/events.js";
import { errorEvent } from "./error-event.js";
import type { ClaimResponse, SessionSpec } from "../protocol/runner-api.js";
import { EventSink } from "./event-sink.js";
import type { Checkout } from "./git/checkout.js";
import { handBackCheckout } from "./git/snapshot.js";
import { detectBoundary } from "./jail/boundary.js";
import { noJail, userJail, type Jail } from "./jail/jail.js";
import { resolveOpencodeBinary } from "./opencode/binary.js";
import { PreparationError, prepareSandbox, type Prepared } from "./prepare.js";
import { syncPooledCheckout } from "./pool-sync.js";
import { httpsOrigin } from "./git/run.js";
import { holdWritesUntil } from "./opencode/permission-policy.js";
import { killAllGroups } from "./proc/group.js";
import { agentOpencodeConfig } from "./mcp/agent-config.js";
import { browserAvailable, browserNoteFile, browserOutputDir, browserReveal } from "./mcp/browser.js";
import { startDevServer, type DevServer } from "./dev-server.js";
import { INSPECT_CONFIG, NO_CONFIG, readInspectConfig, type InspectConfig } from "./inspect-config.js";
import { watchScreenshots } from "./mcp/screenshots.js";
import { startInspectTools } from "./mcp/inspect-tools.js";
import type { ToolHost } from "./mcp/host.js";
import { promptLoop, type ExitReason } from "./prompt-loop.js";
import { configSecrets, createRedactor, type Redactor } from "./redact.js";
import { RunnerClient } from "./runner-client.js";

export interface RuntimeOptions {
  controlPlaneUrl: string;
  sessionId: string;
  /** Bearer for POST /claim: the local runner token or the Actions OIDC token. */
  claimToken: string;
  /** Already claimed (the Action claims before it starts the runtime): skip the claim. */
  claimed?: ClaimResponse;
  /**
   * Run the session's code as this OS user inside bubblewrap (see sandbox/jail). Null: run it
   * as ourselves — only for a developer's own repositories. A user given but no boundary
   * possible fails the session with the reason.
   */
  sandboxUser?: string | null;
  /** Paths the session's code must not see (the app's data, keys, other runners' folders). */
  hide?: string[];
  /** Paths inside hidden ones it still needs to read (tool caches). */
  reveal?: string[];
  /** Checkouts and OpenCode's folders go here (default: a new temp dir). */
  workDir?: string;
  /** Persistent snapshot folder on the runner; null disables snapshots. */
  snapshotRoot?: string | null;
  /** Try @actions/cache when no snapshot folder has the repository, and fill it after a clone. */
  useActionsCache?: boolean;
  /** Long-poll wait in seconds. */
  pollWaitSeconds?: number;
  /** Provider retries before a turn fails. */
  maxModelRetries?: number;
  log?: (line: string) => void;
  /** Milestones for the benchmark (claimed, checkout, opencode, ready, …) with ms since start. */
  onMark?: (name: string, ms: number) => void;
  /** Aborting this shuts the sandbox down like a signal would. */
  signal?: AbortSignal;
  /** A pooled sandbox (sandbox/pool.ts) taking over the session it was assigned: already prepared. */
  pooled?: PooledSandbox;
}

interface PooledSandbox {
  jail: Jail;
  sessionDir: string;
  prepared: Prepared;
  /** What the setup script said while the sandbox waited: now the session's events. */
  setupEvents: NewEvent[];
  /** Inspect's tools, in OpenCode's config since its start, now answering for the assigned session. */
  tools?: ToolHost | null;
}

export interface RuntimeResult {
  reason: ExitReason;
  error?: string;
}

export async function runSandbox(options: RuntimeOptions): Promise<RuntimeResult> {
  const started = Date.now();
  const mark = (name: string) => options.onMark?.(name, Date.now() - started);
  let redact: Redactor = createRedactor([options.claimToken]);
  const log = (line: string) => (options.log ?? ((l) => process.stderr.write(`[sandbox] ${l}\n`)))(redact(line));

  const api = new RunnerClient(options.controlPlaneUrl, { log: (line) => log(line) });
  const claimed = options.claimed ? api.adopt(options.claimed) : await api.claim(options.claimToken, options.sessionId);
  const spec = claimed.session;
  redact = createRedactor([
    options.claimToken,
    claimed.sessionToken,
    spec.gitToken,
    ...configSecrets(spec.opencodeConfig),
  ]);
  mark("claimed");
  log(`claimed session ${spec.id} (${spec.repo.fullName}, branch ${spec.headBranch})`);
  // The agent's own tools (child sessions), served from here so the session token stays outside the jail.
  const credential = { controlPlaneUrl: options.controlPlaneUrl, sessionId: spec.id, token: claimed.sessionToken };
  const tools = options.pooled
    ? (options.pooled.tools ?? null)
    : await startInspectTools(() => credential, log).catch((error: Error) => {
        log(`Inspect's tools did not start: ${error.message}`);
        return null;
      });

  const workDir = options.workDir ?? mkdtempSync(path.join(tmpdir(), "inspect-sandbox-"));
  const pooled = options.pooled;
  const sessionDir = pooled?.sessionDir ?? path.join(workDir, "sessions", spec.id.replace(/[^\w.-]/g, "_"));
  mkdirSync(sessionDir, { recursive: true });
  const jailed = pooled ? { jail: pooled.jail } : makeJail(options, workDir, sessionDir);
  const jail = jailed.jail;
  // The browser's screenshots become the session's artifacts (shown on its page, linked from its PR).
  const screenshots = spec.browser ? watchScreenshots(browserOutputDir(jail.box), credential, log) : null;
  log(
    jail.isolated
      ? `the session's code runs as ${jail.user!.name} in a sandbox`
      : (jailed.problem ?? "the session's code runs as this user, without a sandbox boundary"),
  );

  const sink = new EventSink({
    send: async (events) => void (await api.events(events)),
    redact,
    onDrop: (count, error) => log(`dropped ${count} events: ${(error as Error).message}`),
  });
  const emit = (events: NewEvent[]) => sink.push(events);
  if (pooled?.setupEvents.length) emit(pooled.setupEvents);

  const shutdown = new AbortController();
  let syncFailed: string | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    log(`received ${sig}, shutting down`);
    shutdown.abort(sig);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  options.signal?.addEventListener("abort", () => shutdown.abort("signal"), { once: true });

  const heartbeat = setInterval(
    () => void api.heartbeat().catch((e) => log(`heartbeat failed: ${e.message}`)),
    spec.heartbeatIntervalMs,
  );
  heartbeat.unref();

  // OpenCode, checkout and setup get going at once; the poller runs alongside from the start.
  const prepAbort = new AbortController();
  const teardown = new AbortController();
  const takingOver = pooled
    ? takeOver(pooled, spec, redact, log, (error) => {
        log(error.message);
        emit([errorEvent(error.message, "checkout_failed")]);
        syncFailed = error.message;
        shutdown.abort("sync failed");
      })
    : null;
  const preparing = takingOver
    ? takingOver.prepared
    : jailed.problem
      ? Promise.reject(
          new PreparationError(`The sandbox boundary is not in place: ${jailed.problem}`, "sandbox_unavailable"),
        )
      : jail.start().then(
          () =>
            prepareSandbox({
              spec: {
                ...spec,
                opencodeConfig: agentOpencodeConfig(spec.opencodeConfig, tools, spec.browser, jail.box),
              },
              jail,
              snapshotRoot: options.snapshotRoot ?? null,
              useActionsCache: options.useActionsCache,
              redact,
              emit,
              signal: AbortSignal.any([shutdown.signal, prepAbort.signal]),
              cancel: teardown.signal,
              log,
              mark,
            }),
          (error: Error) => {
            throw new PreparationError(`The sandbox could not start: ${error.message}`, "sandbox_unavailable");
          },
        );
  preparing.then(
    () => {
      mark("ready");
      log("ready for prompts");
    },
    () => undefined,
  );

  // The repository's `.inspect/config.yml` (budgets, the dev server), read once before the first
  // turn from the base branch — a pooled sandbox's only once its sync has fetched that branch.
  let devServer: DevServer | null = null;
  let configured: Promise<InspectConfig> | null = null;
  const repoConfig = (p: Prepared): Promise<InspectConfig> =>
    (configured ??= (async () => {
      const synced = takingOver ? await takingOver.synced.then(...settled) : true;
      if (!synced) return NO_CONFIG; // the run is ending (reported where the sync failed)
      const config = await readInspectConfig({
        dir: p.checkout.dir,
        jail: p.checkout.jail,
        baseBranch: spec.baseBranch,
        log,
      });
      if (config.browser && !(spec.browser && browserAvailable())) {
        log(`${INSPECT_CONFIG}: the browser section is not used: this sandbox offers no browser`);
      } else if (config.browser) {
        // A dev server that cannot start must not take the repository's budgets with it.
        devServer = await startDevServer({
          config: config.browser,
          dir: p.checkout.dir,
          jail: p.checkout.jail,
          noteFile: browserNoteFile(jail.box),
          emit,
          log,
          signal: AbortSignal.any([shutdown.signal, teardown.signal]),
        }).catch((error: Error) => {
          log(`the dev server from ${INSPECT_CONFIG} could not start: ${error.message}`);
          return null;
        });
      }
      return config;
    })().catch((error: Error) => {
      log(`${INSPECT_CONFIG}: ${error.message}`);
      return NO_CONFIG;
    }));
  /**
   * What the first turn waits for. A fresh sandbox: the config and its dev server. A pooled one
   * must not hold its first turn for the sync (reads overlap it; see takeOver): it waits only when
   * the config it was warmed with names a dev server (that needs the synced checkout); its budgets
   * apply as soon as the synced config is read (runPrompt).
   */
  let waited: Promise<void> | null = null;
  const beforeFirstTurn = (p: Prepared): Promise<void> => (waited ??= waitBeforeFirstTurn(p));
  const waitBeforeFirstTurn = async (p: Prepared): Promise<void> => {
    const reading = repoConfig(p);
    if (!takingOver) return void (await reading);
    const warmed = await readInspectConfig({ dir: p.checkout.dir, jail: p.checkout.jail, baseBranch: spec.baseBranch });
    if (warmed.browser && spec.browser && browserAvailable()) await reading;
  };

  let result: RuntimeResult;
  try {
    const reason = await promptLoop({
      api,
      spec,
      preparing,
      abortPreparation: () => prepAbort.abort(),
      repoConfig,
      beforeFirstTurn,
      emit,
      sink,
      shutdown: shutdown.signal,
      log,
      redact,
      pollWaitSeconds: options.pollWaitSeconds,
      maxModelRetries: options.maxModelRetries,
    });
    result = syncFailed ? { reason: "error", error: syncFailed } : { reason };
  } catch (error) {
    const message = redact((error as Error).message ?? String(error));
    log(`failed: ${message}`);
    if (!(error instanceof PreparationError && error.reported)) {
      emit([errorEvent(message, error instanceof PreparationError ? error.code : "sandbox_failed")]);
    }
    result = { reason: "error", error: message };
  } finally {
    clearInterval(heartbeat);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }

  // Whatever preparation got to (it ends quickly once aborted) is torn down here.
  prepAbort.abort();
  teardown.abort();
  let partial: PreparationError["partial"];
  const done = await preparing.catch((error) => {
    if (error instanceof PreparationError) partial = error.partial;
    return null;
  });
  done?.workspace.hub.close();
  await done?.server.stop().catch(() => undefined);
  await tools?.close();
  await (devServer as DevServer | null)?.stop();
  await screenshots?.stop();
  // Everything the session's code started — daemons that setsid away included — ends with its jail.
  await jail.close();
  await killAllGroups();
  await sink.flush();
  await api
    .exit({ reason: result.reason, ...(result.error ? { error: result.error.slice(0, 20_000) } : {}) })
    .catch((e) => log(`exit report failed: ${e.message}`));
  // Nothing runs in the checkout any more: keep it (dependencies installed) for the next session.
  const prepared = done ?? partial;
  if (prepared?.reusable) await saveForNextTime(spec, prepared.checkout, options, log);
  // The checkout (unless it became the snapshot) and OpenCode's folders are this session's alone.
  rmSync(sessionDir, { recursive: true, force: true });
  log(`exited (${result.reason})`);
  return result;
}

/**
 * The pooled sandbox taken over: ready at once with the session's git credentials, while its
 * checkout is brought to the session's branch in the background. Reads go ahead meanwhile; edits
 * and commands wait for the sync (opencode/permission-policy.ts), and so does reading the
 * repository's `.inspect/config.yml` (`synced`). A failed sync ends the run.
 */
function takeOver(
  pooled: PooledSandbox,
  spec: SessionSpec,
  redact: Redactor,
  log: (line: string) => void,
  failed: (error: Error) => void,
): { prepared: Promise<Prepared>; synced: Promise<void> } {
  const { prepared } = pooled;
  const origin = httpsOrigin(spec.cloneUrl);
  const checkout = { ...prepared.checkout, auth: spec.gitToken && origin ? { origin, token: spec.gitToken } : null };
  const synced = syncPooledCheckout(checkout, spec, redact, log).then((sha) => {
    checkout.sha = sha;
    log(`synced ${spec.headBranch} at ${sha.slice(0, 12)}`);
  });
  holdWritesUntil(synced);
  synced.catch((error: Error) => failed(new Error(`Syncing the checkout failed: ${redact(error.message)}`)));
  return { prepared: Promise.resolve({ ...prepared, checkout }), synced };
}

/** Keep the prepared checkout (dependencies installed) so the next session — on this runner or, via the cache, another — starts warm. */
async function saveForNextTime(
  spec: SessionSpec,
  checkout: Checkout,
  options: RuntimeOptions,
  log: (l: string) => void,
) {
  try {
    const kept = await handBackCheckout({
      dir: checkout.dir,
      owner: spec.repo.owner,
      name: spec.repo.name,
      sha: checkout.sha,
      source: checkout.source,
      cachedAt: checkout.cachedAt,
      snapshotRoot: options.snapshotRoot ?? null,
      useActionsCache: options.useActionsCache,
      jail: checkout.jail,
      log,
    });
    if (kept.cached) log("checkout cached");
    if (kept.snapshot) log("snapshot saved");
  } catch (error) {
    log(`saving the snapshot failed: ${(error as Error).message}`);
  }
}

const settled = [() => true, () => false] as const;

/** The session's jail, or none; `problem` says why a requested boundary cannot be had. */
export function makeJail(
  options: Pick<RuntimeOptions, "sandboxUser" | "snapshotRoot" | "hide" | "reveal">,
  workDir: string,
  sessionDir: string,
): { jail: Jail; problem?: string } {
  if (!options.sandboxUser) return { jail: noJail(sessionDir) };
  const boundary = detectBoundary(options.sandboxUser);
  if (!boundary.ok) return { jail: noJail(sessionDir), problem: boundary.reason };
  // The browser's package and node: an Actions runner's work folder and externals are hidden.
  const reveal = [...(options.reveal ?? []), ...browserReveal()];
  try {
    reveal.push(resolveOpencodeBinary());
  } catch {
    // Reported where OpenCode is started.
  }
  const hide = [workDir, ...(options.snapshotRoot ? [options.snapshotRoot] : []), ...(options.hide ?? [])];
  return { jail: userJail(boundary.user, { sessionDir, hide, reveal }) };
}
