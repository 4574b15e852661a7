/**
 * One poller for the sandbox's whole life, started right after the claim — while the
 * checkout, setup script and OpenCode are still being prepared — so a stop or exit is seen
 * at once even then. Prompts that arrive before the sandbox is ready wait for it.
 *
 * A poll is never abandoned while work is in progress: the control plane may hand it the
 * next prompt at any moment, and an abandoned answer would lose that prompt. Its wait is
 * therefore kept short while preparing and capped by the idle timeout otherwise.
 */
import type { NewEvent } from "../protocol/events.js";
import { errorEvent } from "./error-event.js";
import type { NextResponse, PromptHandout, SessionSpec } from "../protocol/runner-api.js";
import type { EventSink } from "./event-sink.js";
import { idleDeadline } from "./deadline.js";
import { Interruption } from "./interruption.js";
import type { InspectConfig } from "./inspect-config.js";
import { PreparationError, type Prepared } from "./prepare.js";
import { runPrompt } from "./prompt.js";
import type { Redactor } from "./redact.js";
import { RunnerApiError, type RunnerClient } from "./runner-client.js";

export type ExitReason = "idle" | "exit" | "stopped" | "error";

export interface LoopContext {
  api: RunnerClient;
  spec: SessionSpec;
  /** Resolves when the sandbox is ready; rejects (PreparationError) when it cannot be. */
  preparing: Promise<Prepared>;
  /** Cut preparation short (kills the setup script): a stop or exit arrived meanwhile. */
  abortPreparation: () => void;
  /**
   * The repository's `.inspect/config.yml`, read once per sandbox (starting its dev server, if it
   * names one, and waiting for it — bounded). Never rejects.
   */
  repoConfig: (prepared: Prepared) => Promise<InspectConfig>;
  /** What a turn waits for before it starts (the dev server, when there is one). Never rejects. */
  beforeFirstTurn: (prepared: Prepared) => Promise<void>;
  emit: (events: NewEvent[]) => void;
  sink: EventSink;
  shutdown: AbortSignal;
  log: (line: string) => void;
  redact: Redactor;
  pollWaitSeconds?: number;
  maxModelRetries?: number;
}

interface Turn {
  prompt: PromptHandout;
  stop: AbortController;
  done: Promise<void>;
}

const PREPARING_WAIT_SECONDS = 2;

const minutes = (ms: number) => {
  const m = ms / 60_000;
  return m >= 1 ? `${Math.round(m)} min` : `${Math.round(ms / 1000)} s`;
};

export async function promptLoop(ctx: LoopContext): Promise<ExitReason> {
  const waitMax = ctx.pollWaitSeconds ?? 20;
  let ready: Prepared | null = null;
  let prepError: unknown = null;
  let crashed: string | null = null;
  let lastActivity = Date.now();
  ctx.preparing.then(
    (p) => {
      ready = p;
      lastActivity = Date.now();
      void p.server.exited.then((why) => (crashed = why));
    },
    (error) => (prepError = error),
  );

  let turn: Turn | null = null;
  let exitReason: ExitReason | null = null;
  let consecutiveErrors = 0;
  let lostContact: string | null = null;
  /** The newest prompt handed to us: tells the control plane which handouts arrived. */
  let seen: number | null = null;
  const pending: PromptHandout[] = [];

  const startTurn = (prompt: PromptHandout) => {
    const stop = new AbortController();
    const stopped = new Promise<"stopped">((resolve) =>
      stop.signal.addEventListener("abort", () => resolve("stopped"), { once: true }),
    );
    const ready = ctx.preparing.then(async (p) => {
      await ctx.beforeFirstTurn(p);
      return { p, repoConfig: ctx.repoConfig(p) };
    });
    const done = Promise.race([ready, stopped])
      .then(
        async (r) => {
          if (r === "stopped") {
            await ctx.api.promptDone(prompt.id, { status: "stopped", commits: [] });
            return;
          }
          const { p, repoConfig } = r;
          const limit = ctx.spec.turnTimeoutMs;
          const timer = limit
            ? setTimeout(
                () =>
                  stop.abort(
                    new Interruption(
                      `The turn ran longer than ${minutes(limit)} (INSPECT_TURN_TIMEOUT) and was ended; its work so far is committed and pushed.`,
                      "turn_timeout",
                    ),
                  ),
                limit,
              )
            : undefined;
          try {
            await runPrompt({
              ...ctx,
              ws: p.workspace,
              checkout: p.checkout,
              repoConfig,
              prompt,
              stop: stop.signal,
              crashed: p.server.exited,
              options: ctx,
            });
          } finally {
            clearTimeout(timer);
          }
        },
        async (error) => {
          // The sandbox could not be prepared: say why, then end this prompt failed.
          const message = ctx.redact((error as Error).message ?? String(error));
          const code = error instanceof PreparationError ? error.code : "sandbox_failed";
          ctx.emit([errorEvent(message, code, prompt.id)]);
          if (error instanceof PreparationError) error.reported = true;
          await ctx.sink.flush();
          await ctx.api.promptDone(prompt.id, { status: "failed", commits: [], error: message.slice(0, 20_000) });
        },
      )
      .catch((error) => ctx.log(`prompt ${prompt.id} could not be reported: ${(error as Error).message}`))
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
    if (!turn && prepError) throw prepError;
    if (!turn && crashed) throw new PreparationError(crashed, "opencode_crashed");
    const idleLeft = idleDeadline(lastActivity, ctx.spec.idleTimeoutMs, ctx.spec.gitTokenExpiresAt) - Date.now();
    if (ready && !turn && idleLeft <= 0) {
      exitReason = "idle";
      break;
    }
    const idleSeconds = Math.max(1, Math.floor(ctx.spec.idleTimeoutMs / 1000));
    const wait = !ready
      ? PREPARING_WAIT_SECONDS
      : turn
        ? Math.min(waitMax, idleSeconds)
        : Math.max(0, Math.min(waitMax, Math.floor(idleLeft / 1000)));
    let next: NextResponse;
    try {
      next = await ctx.api.next(wait, ctx.shutdown, { current: (turn as Turn | null)?.prompt.id ?? null, seen });
      consecutiveErrors = 0;
    } catch (error) {
      if (ctx.shutdown.aborted) continue;
      if (error instanceof RunnerApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
        ctx.log(`the control plane ended this runner: ${error.message}`);
        exitReason = "exit";
        break;
      }
      if (ctx.api.contactLost()) {
        // The control plane has given this run up by now; keep what was done and leave.
        lostContact = `Lost contact with the control plane for over ${ctx.api.contactTimeoutSeconds} s; the work so far is committed and pushed.`;
        ctx.log(lostContact);
        exitReason = "error";
        break;
      }
      consecutiveErrors++;
      ctx.log(`polling failed (${consecutiveErrors}): ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** consecutiveErrors)));
      if (ready && !turn && Date.now() > idleDeadline(lastActivity, ctx.spec.idleTimeoutMs, ctx.spec.gitTokenExpiresAt))
        exitReason = "idle";
      continue;
    }
    const current = turn as Turn | null;
    switch (next.kind) {
      case "none":
        break;
      case "prompt":
        seen = Math.max(seen ?? 0, next.prompt.id);
        if (current) {
          // Not expected (the control plane hands out one prompt at a time): run it next.
          ctx.log(`prompt ${next.prompt.id} arrived during a turn; it runs after`);
          pending.push(next.prompt);
        } else {
          ctx.log(
            `prompt ${next.prompt.id} from @${next.prompt.author.login}${ready ? "" : " (runs once the sandbox is ready)"}`,
          );
          startTurn(next.prompt);
        }
        break;
      case "stop":
        if (!ready) ctx.abortPreparation();
        if (current && (next.promptId === null || next.promptId === current.prompt.id)) {
          ctx.log(`stop prompt ${current.prompt.id}`);
          current.stop.abort();
        }
        break;
      case "exit":
        ctx.log(`exit: ${next.reason}`);
        if (!ready) ctx.abortPreparation();
        current?.stop.abort();
        exitReason = "exit";
        break;
    }
  }
  const last = turn as Turn | null;
  if (last) {
    // A shutdown or a lost control plane keeps the turn's work; an exit instruction (the session
    // was stopped or archived) has already stopped it.
    last.stop.abort(
      lostContact
        ? new Interruption(lostContact, "contact_lost")
        : new Interruption(
            "The runner was shut down before the turn finished; its work so far is committed and pushed.",
            "runner_shutdown",
          ),
    );
    await last.done;
  }
  for (const prompt of pending) {
    await ctx.api
      .promptDone(prompt.id, { status: "stopped", commits: [], error: "The sandbox exited before this prompt ran" })
      .catch(() => undefined);
  }
  if (lostContact) throw new Error(lostContact);
  return exitReason;
}
