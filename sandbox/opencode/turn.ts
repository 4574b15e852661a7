/**
 * One OpenCode turn: send the prompt, stream bridged events out, answer permission asks by
 * policy, and resolve when OpenCode goes idle — or when the turn is stopped, the model keeps
 * failing, or OpenCode dies. It never waits forever on its own.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import type { NewEvent, Usage } from "../../protocol/events.js";
import { errorEvent } from "../error-event.js";
import type { Jail } from "../jail/jail.js";
import { TurnBridge, sessionOf } from "./bridge.js";
import type { EventHub } from "./event-hub.js";
import { decidePermission, refusalReason, writesSettled, writesSynced } from "./permission-policy.js";
import { parseModel } from "./config.js";
import { TurnChanges } from "./turn-changes.js";
import { pricedModels } from "./usage-meter.js";

export interface TurnRequest {
  client: OpencodeClient;
  hub: EventHub;
  /** The OpenCode session (one per Inspect session, so follow-ups keep the conversation). */
  sessionID: string;
  directory: string;
  text: string;
  model: string | null;
  emit: (events: NewEvent[]) => void;
  /** Aborted when the control plane says stop. */
  stop: AbortSignal;
  /** Resolves with a reason if OpenCode dies. */
  crashed: Promise<string>;
  /** Give up after this many provider retries (5xx, overloaded, rate limits). */
  maxRetries?: number;
  /** The checkout's jail: file diffs are read through git in it, as the commit is made. */
  jail?: Jail | null;
  log?: (line: string) => void;
  /** The turn's priced spend so far (USD) and its usage, after every model call update: budgets watch it. */
  onSpend?: (usd: number, usage: Usage) => void;
}

export interface TurnResult {
  status: "done" | "failed" | "stopped";
  error?: string;
  usage: Usage;
  summary?: string;
}

/** How long an aborted turn may take to go idle (~50 ms normally) before we stop waiting: a stop is reported within 1 s. */
const ABORT_SETTLE_MS = 700;
const STATUS_CHECK_MS = 5_000;

export async function runTurn(req: TurnRequest): Promise<TurnResult> {
  const bridge = new TurnBridge(req.sessionID, req.directory);
  const maxRetries = req.maxRetries ?? 3;
  let settle!: (
    why: { kind: "idle" } | { kind: "retries" } | { kind: "crash"; message: string } | { kind: "stop" },
  ) => void;
  const ended = new Promise<Parameters<typeof settle>[0]>((resolve) => (settle = resolve));

  const changes = new TurnChanges(req.directory, req.jail, req.emit, req.log);
  void changes.start(writesSynced());
  let seenBusy = false;
  const off = req.hub.on((ev) => {
    const out = bridge.handle(ev);
    if (out.length) req.emit(out);
    const edited = bridge.editedFile(ev);
    if (edited) void changes.edited(edited);
    if (ev.type === "message.updated" && sessionOf(ev) !== req.sessionID && ev.properties.info?.role === "assistant") {
      // A subagent's session (the task tool): its model calls are this turn's spend too, and a budget
      // must see them. A sandbox runs one turn at a time, so any other session's calls are this turn's.
      bridge.usage.record(ev.properties.info);
      req.onSpend?.(bridge.usage.knownCost(), bridge.usage.usage());
    }
    if (sessionOf(ev) !== req.sessionID) return;
    if (ev.type === "message.updated") req.onSpend?.(bridge.usage.knownCost(), bridge.usage.usage());
    if (ev.type === "session.status" && ev.properties.status?.type !== "idle") seenBusy = true;
    if (ev.type === "permission.asked") {
      const ask = ev.properties;
      // A pooled sandbox's edits and commands wait for its sync (see permission-policy.ts).
      void writesSettled(ask)
        .then((refused) => {
          const reply = refused ? "reject" : decidePermission(req.directory, ask);
          const message = refused ?? (reply === "reject" ? refusalReason(ask) : undefined);
          return req.client.permission.reply({ requestID: ask.id, reply, ...(message ? { message } : {}) });
        })
        .catch(() => undefined);
    } else if (ev.type === "question.asked") {
      void req.client.question.reject({ requestID: ev.properties.id }).catch(() => undefined);
    } else if (ev.type === "session.idle" || (ev.type === "session.status" && ev.properties.status?.type === "idle")) {
      settle({ kind: "idle" });
    } else if (
      ev.type === "session.status" &&
      ev.properties.status?.type === "retry" &&
      bridge.outcome().retryAttempts > maxRetries
    ) {
      settle({ kind: "retries" });
    }
  });
  // Should the event stream drop an event (a reconnect), the turn must still end: ask OpenCode
  // now and then, and take two idle answers in a row after it was busy as the end (six, if it
  // never looked busy: a prompt OpenCode dropped without ever starting it).
  let idleAnswers = 0;
  const watchdog = setInterval(async () => {
    const status = await req.client.session.status().catch(() => null);
    if (!status?.data) return;
    const mine = (status.data as Record<string, { type: string }>)[req.sessionID];
    if (mine && mine.type !== "idle") {
      seenBusy = true;
      idleAnswers = 0;
    } else if (++idleAnswers >= (seenBusy ? 2 : 6)) {
      settle({ kind: "idle" });
    }
  }, STATUS_CHECK_MS);
  const onStop = () => settle({ kind: "stop" });
  if (req.stop.aborted) onStop();
  req.stop.addEventListener("abort", onStop, { once: true });
  void req.crashed.then((message) => settle({ kind: "crash", message }));

  try {
    // Which models have a price: OpenCode reports an unpriced call as costing 0.
    bridge.usage.priced = await pricedModels(req.client);
    if (!req.stop.aborted) {
      const sent = await req.client.session.promptAsync({
        sessionID: req.sessionID,
        model: parseModel(req.model),
        parts: [{ type: "text", text: req.text }],
      });
      if (sent.error || (sent.response && !sent.response.ok)) {
        const detail = sent.error ? JSON.stringify(sent.error).slice(0, 500) : `HTTP ${sent.response?.status}`;
        return fail(bridge, `OpenCode refused the prompt: ${detail}`, req.emit);
      }
    }
    const why = await ended;
    if (why.kind === "stop" || why.kind === "retries") {
      // Our own abort error is expected: the result below says what happened.
      bridge.stopping = true;
      const idle = new Promise<void>((resolve) => {
        const offIdle = req.hub.on((ev) => {
          if (ev.type === "session.idle" && ev.properties.sessionID === req.sessionID) {
            offIdle();
            resolve();
          }
        });
        setTimeout(() => {
          offIdle();
          resolve();
        }, ABORT_SETTLE_MS);
      });
      await req.client.session.abort({ sessionID: req.sessionID }).catch(() => undefined);
      await idle;
    }
    // Every file the turn changed, whichever tool changed it, before the commit is reported.
    if (why.kind !== "stop") await changes.finish();
    const outcome = bridge.outcome();
    const base = { usage: outcome.usage, ...(outcome.summary ? { summary: outcome.summary } : {}) };
    switch (why.kind) {
      case "stop":
        return { status: "stopped", ...base };
      case "crash":
        return fail(bridge, why.message, req.emit);
      case "retries":
        return fail(
          bridge,
          `The model kept failing (${outcome.retryAttempts} attempts): ${outcome.retryMessage ?? "no detail"}`,
          req.emit,
        );
      case "idle":
        if (outcome.error) return { status: "failed", error: outcome.error, ...base };
        return { status: "done", ...base };
    }
  } catch (error) {
    return fail(bridge, `OpenCode request failed: ${(error as Error).message}`, req.emit);
  } finally {
    off();
    clearInterval(watchdog);
    req.stop.removeEventListener("abort", onStop);
    await changes.close();
  }
}

function fail(bridge: TurnBridge, message: string, emit: (events: NewEvent[]) => void): TurnResult {
  const outcome = bridge.outcome();
  emit([errorEvent(message, "turn_failed")]);
  return {
    status: "failed",
    error: message,
    usage: outcome.usage,
    ...(outcome.summary ? { summary: outcome.summary } : {}),
  };
}
