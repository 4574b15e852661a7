/**
 * Reporters keep a place outside Inspect (a GitHub status comment, a check run, a pull request,
 * later a Slack thread) current with a session. Each one subscribes to the session bus by event
 * kind; `attachReporters` runs their work in the background, one piece at a time per reporter and
 * session, so none can slow the append that emitted the event or another reporter.
 */
import type { EventType, SessionEvent } from "../../protocol/events.js";
import type { SessionBus } from "../sessions/bus.js";
import { SerialQueue } from "../util/serial.js";
import type { BackgroundTasks } from "../util/tasks.js";
import { Throttle } from "./throttle.js";

export type EventOf<T extends EventType> = Extract<SessionEvent, { type: T }>;

/** Work to do when an event of a kind is stored, typed by that kind. */
type EventHandlers = { [T in EventType]?: (sessionId: string, event: EventOf<T>) => Promise<void> };

export interface Reporter {
  /** Names its background tasks in logs. */
  readonly name: string;
  /**
   * Bring the outside place in line with the session's stored state. Run (throttled: at most once
   * per interval per session, the last state always lands) after any event of a `syncOn` kind,
   * and after every push.
   */
  sync?(sessionId: string): Promise<void>;
  readonly syncOn?: readonly EventType[];
  /** Per-kind reactions (🚀 when a prompt starts, the PR body when a turn ends). */
  readonly on?: EventHandlers;
  /** The runner pushed (the new head is stored): runs before the push's sync. */
  pushed?(sessionId: string): Promise<void>;
}

/** What reporters are wired to: the bus, and where pushes are announced. */
export interface ReporterSources {
  bus: SessionBus;
  /** Registers a hook called after each push the runner reports (RunnerService.onPushed). */
  onPushed(hook: (sessionId: string) => void): void;
}

export interface ReporterOptions {
  tasks: BackgroundTasks;
  /** How often one reporter may sync one session. */
  intervalMs: number;
  /** First wait before a failed sync is tried again (then ×4 each time, SYNC_RETRIES times). */
  retryMs?: number;
}

/**
 * A failed sync (GitHub answering 5xx or 429 beyond Octokit's own retries) is tried again, so the
 * last state still lands even when no later event comes to trigger it — a status comment must not
 * say "running" for ever because its final edit met a bad minute.
 */
const SYNC_RETRIES = 4;

/** Subscribe every reporter; returns the function that unsubscribes them all. */
export function attachReporters(
  sources: ReporterSources,
  reporters: readonly Reporter[],
  opts: ReporterOptions,
): () => void {
  const stops = reporters.map((r) => attach(sources, r, opts));
  return () => {
    for (const stop of stops) stop();
  };
}

function attach(sources: ReporterSources, reporter: Reporter, opts: ReporterOptions): () => void {
  const queue = new SerialQueue();
  const serial = (id: string, what: string, fn: () => Promise<void>) =>
    opts.tasks.run(`${reporter.name} ${what} ${id}`, () => queue.run(id, fn));
  const sync = reporter.sync?.bind(reporter);
  const failures = new Map<string, number>();
  const retryMs = opts.retryMs ?? 2_000;
  let stopped = false;
  const syncOnce = async (id: string) => {
    try {
      await sync!(id);
      failures.delete(id);
    } catch (err) {
      const n = (failures.get(id) ?? 0) + 1;
      if (n <= SYNC_RETRIES) {
        failures.set(id, n);
        setTimeout(() => !stopped && throttle?.touch(id), retryMs * 4 ** (n - 1)).unref();
      } else failures.delete(id);
      throw err;
    }
  };
  const throttle = sync ? new Throttle(opts.intervalMs, (id) => serial(id, "sync", () => syncOnce(id))) : null;
  const syncOn = new Set<string>(reporter.syncOn ?? []);

  const off = sources.bus.on((sessionId, events) => {
    for (const e of events) {
      const handler = reporter.on?.[e.type] as ((id: string, e: SessionEvent) => Promise<void>) | undefined;
      if (handler) serial(sessionId, e.type, () => handler.call(reporter.on, sessionId, e));
    }
    if (throttle && events.some((e) => syncOn.has(e.type))) throttle.touch(sessionId);
  });
  sources.onPushed((sessionId) => {
    if (stopped) return;
    if (reporter.pushed) {
      const pushed = reporter.pushed.bind(reporter);
      serial(sessionId, "push", () => pushed(sessionId));
    }
    throttle?.touch(sessionId);
  });
  return () => {
    stopped = true;
    off();
    throttle?.close();
  };
}
