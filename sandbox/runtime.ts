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
import type { NewEvent } from "../app/protocol/events.js";
import type { NextResponse, PromptHandout, SessionSpec } from "../app/protocol/runner-api.js";
import { EventSink } from "./event-sink.js";
import type { Checkout } from "./git/checkout.js";
import { discardChanges } from "./git/commit.js";
import { returnSnapshot, saveToActionsCache, snapshotPath } from "./git/snapshot.js";
import type { Workspace } from "./opencode/agent.js";
import type { OpencodeServer } from "./opencode/server.js";
import { PreparationError, prepareSandbox, type Prepared } from "./prepare.js";
import { killAllGroups } from "./proc/group.js";
import { configSecrets, createRedactor, type Redactor } from "./redact.js";
import { RunnerApiError, RunnerClient } from "./runner-client.js";
import { runPrompt } from "./prompt.js";

export interface RuntimeOptions {
  controlPlaneUrl: string;
  sessionId: string;
  /** Bearer for POST /claim: the local runner token or the Actions OIDC token. */
  claimToken: string;
  /** Checkouts and OpenCode's folders go here (default: a new temp dir). */
  workDir?: string;
  /** Persistent snapshot folder on the runner; null disables snapshots. */
  snapshotRoot?: string | null;
  /** Try @actions/cache when no snapshot folder has the repository. */
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
}

export type ExitReason = "idle" | "exit" | "stopped" | "error";

export interface RuntimeResult {
  reason: ExitReason;
  error?: string;
}

export async function runSandbox(options: RuntimeOptions): Promise<RuntimeResult> {
  const started = Date.now();
  const mark = (name: string) => options.onMark?.(name, Date.now() - started);
  let redact: Redactor = createRedactor([options.claimToken]);
  const log = (line: string) => (options.log ?? ((l) => process.stderr.write(`[sandbox] ${l}\n`)))(redact(line));

  const api = new RunnerClient(options.controlPlaneUrl);
  const claimed = await api.claim(options.claimToken, options.sessionId);
  const spec = claimed.session;
  redact = createRedactor([options.claimToken, claimed.sessionToken, spec.gitToken, ...configSecrets(spec.opencodeConfig)]);
  mark("claimed");
  log(`claimed session ${spec.id} (${spec.repo.fullName}, branch ${spec.headBranch})`);

  const workDir = options.workDir ?? mkdtempSync(path.join(tmpdir(), "inspect-sandbox-"));
  const sessionDir = path.join(workDir, "sessions", spec.id.replace(/[^\w.-]/g, "_"));
  mkdirSync(sessionDir, { recursive: true });

  const sink = new EventSink({
    send: async (events) => void (await api.events(events)),
    redact,
    onDrop: (count, error) => log(`dropped ${count} events: ${(error as Error).message}`),
  });
  const emit = (events: NewEvent[]) => sink.push(events);

  const shutdown = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`received ${sig}, shutting down`);
    shutdown.abort(sig);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  options.signal?.addEventListener("abort", () => shutdown.abort("signal"), { once: true });

  const heartbeat = setInterval(() => void api.heartbeat().catch((e) => log(`heartbeat failed: ${e.message}`)), spec.heartbeatIntervalMs);
  heartbeat.unref();

  let prepared: Prepared | null = null;
  let result: RuntimeResult;
  try {
    prepared = await prepareSandbox({
      spec,
      sessionDir,
      snapshotRoot: options.snapshotRoot ?? null,
      useActionsCache: options.useActionsCache,
      redact,
      emit,
      signal: shutdown.signal,
      log,
      mark,
    });
    const { checkout, server, workspace: ws } = prepared;
    mark("ready");
    log("ready for prompts");

    result = await promptLoop({ api, spec, ws, server, checkout, emit, sink, shutdown: shutdown.signal, log, redact, options });
  } catch (error) {
    const message = redact((error as Error).message ?? String(error));
    log(`failed: ${message}`);
    emit([{ type: "error", data: { message: message.slice(0, 4_000), code: error instanceof PreparationError ? error.code : "sandbox_failed" } }]);
    await failWaitingPrompt(api, message, log).catch(() => undefined);
    result = { reason: "error", error: message };
  } finally {
    clearInterval(heartbeat);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }

  const done = prepared as Prepared | null;
  done?.workspace.hub.close();
  await done?.server.stop().catch(() => undefined);
  await killAllGroups();
  await sink.flush();
  await api.exit({ reason: result.reason, ...(result.error ? { error: result.error.slice(0, 20_000) } : {}) }).catch((e) => log(`exit report failed: ${e.message}`));
  // Nothing runs in the checkout any more: keep it (dependencies installed) for the next session.
  if (done && (done.setupOk || done.checkout.source === "snapshot")) await saveForNextTime(spec, done.checkout, options, log);
  // The checkout (unless it became the snapshot) and OpenCode's folders are this session's alone.
  rmSync(sessionDir, { recursive: true, force: true });
  log(`exited (${result.reason})`);
  return result;
}

/** Keep the prepared checkout (dependencies installed) so the next session on this runner starts warm. */
async function saveForNextTime(spec: SessionSpec, checkout: Checkout, options: RuntimeOptions, log: (l: string) => void) {
  try {
    if (options.snapshotRoot) {
      // Tracked files back to the commit, untracked leftovers gone; ignored files (dependencies) stay.
      await discardChanges(checkout.dir);
      if (await returnSnapshot(checkout.dir, snapshotPath(options.snapshotRoot, spec.repo.owner, spec.repo.name))) log("snapshot saved");
    } else if (options.useActionsCache && checkout.source === "clone") {
      if (await saveToActionsCache(checkout.dir, spec.repo.owner, spec.repo.name, checkout.sha)) log("checkout cached");
    }
  } catch (error) {
    log(`saving the snapshot failed: ${(error as Error).message}`);
  }
}

/** Preparation failed: the prompt that started this run must end failed, not hang. */
async function failWaitingPrompt(api: RunnerClient, message: string, log: (l: string) => void) {
  const next = await api.next(0);
  if (next.kind !== "prompt") return;
  await api.promptDone(next.prompt.id, { status: "failed", commits: [], error: message.slice(0, 20_000) });
  log(`prompt ${next.prompt.id} failed: sandbox could not start`);
}

interface LoopContext {
  api: RunnerClient;
  spec: SessionSpec;
  ws: Workspace;
  server: OpencodeServer;
  checkout: Checkout;
  emit: (events: NewEvent[]) => void;
  sink: EventSink;
  shutdown: AbortSignal;
  log: (line: string) => void;
  redact: Redactor;
  options: RuntimeOptions;
}

/**
 * One poller for the sandbox's life. While a turn runs it keeps polling (only stop/exit come
 * then); between turns its wait is capped by the idle deadline, so going idle never races a
 * prompt in flight.
 */
async function promptLoop(ctx: LoopContext): Promise<RuntimeResult> {
  const waitMax = ctx.options.pollWaitSeconds ?? 20;
  let crashed: string | null = null;
  void ctx.server.exited.then((why) => (crashed = why));
  let lastActivity = Date.now();
  let turn: { prompt: PromptHandout; stop: AbortController; done: Promise<void> } | null = null;
  let exitReason: ExitReason | null = null;
  let consecutiveErrors = 0;
  const pending: PromptHandout[] = [];

  const startTurn = (prompt: PromptHandout) => {
    const stop = new AbortController();
    const done = runPrompt({ ...ctx, prompt, stop: stop.signal, crashed: ctx.server.exited })
      .catch((error) => ctx.log(`prompt ${prompt.id} crashed: ${(error as Error).message}`))
      .finally(() => {
        turn = null;
        lastActivity = Date.now();
      });
    turn = { prompt, stop, done };
  };

  while (!exitReason) {
    if (!turn && pending.length > 0) startTurn(pending.shift()!);
    if (ctx.shutdown.aborted) {
      exitReason = "stopped";
      break;
    }
    if (!turn && crashed) throw new PreparationError(crashed, "opencode_crashed");
    const idleLeft = ctx.spec.idleTimeoutMs - (Date.now() - lastActivity);
    if (!turn && idleLeft <= 0) {
      exitReason = "idle";
      break;
    }
    // A poll is never abandoned while the turn runs: the control plane may hand it the next
    // prompt right after this turn is done, and an abandoned answer would lose that prompt.
    // Its wait is therefore capped by the idle timeout, so going idle is never late by much.
    const idleSeconds = Math.floor(ctx.spec.idleTimeoutMs / 1000);
    const wait = Math.max(0, Math.min(waitMax, turn ? Math.max(1, idleSeconds) : Math.floor(idleLeft / 1000)));
    let next: NextResponse;
    try {
      next = await ctx.api.next(wait, ctx.shutdown);
      consecutiveErrors = 0;
    } catch (error) {
      if (ctx.shutdown.aborted) continue;
      if (error instanceof RunnerApiError && error.status >= 400 && error.status < 500) {
        ctx.log(`the control plane ended this runner: ${error.message}`);
        exitReason = "exit";
        break;
      }
      consecutiveErrors++;
      ctx.log(`polling failed (${consecutiveErrors}): ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** consecutiveErrors)));
      if (!turn && Date.now() - lastActivity > ctx.spec.idleTimeoutMs) exitReason = "idle";
      continue;
    }
    const current = turn as { prompt: PromptHandout; stop: AbortController; done: Promise<void> } | null;
    switch (next.kind) {
      case "none":
        break;
      case "prompt":
        if (current) {
          // Not expected (the control plane hands out one prompt at a time): run it next.
          ctx.log(`prompt ${next.prompt.id} arrived during a turn; it runs after`);
          pending.push(next.prompt);
        } else {
          ctx.log(`prompt ${next.prompt.id} from @${next.prompt.author.login}`);
          startTurn(next.prompt);
        }
        break;
      case "stop":
        if (current && (next.promptId === null || next.promptId === current.prompt.id)) {
          ctx.log(`stop prompt ${current.prompt.id}`);
          current.stop.abort();
        }
        break;
      case "exit":
        ctx.log(`exit: ${next.reason}`);
        current?.stop.abort();
        exitReason = "exit";
        break;
    }
  }
  const last = turn as { stop: AbortController; done: Promise<void> } | null;
  if (last) {
    last.stop.abort();
    await last.done;
  }
  for (const prompt of pending) {
    await ctx.api.promptDone(prompt.id, { status: "stopped", commits: [], error: "The sandbox exited before this prompt ran" }).catch(() => undefined);
  }
  return { reason: exitReason };
}
