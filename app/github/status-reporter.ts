/**
 * Keeps GitHub current with each session: the status comment (edited in place
 * at most once every few seconds, the last state always lands), the check run,
 * the PR body after each turn, and a 🚀 on a prompt's comment when it is picked up.
 */
import type { SessionBus } from "../sessions/bus.js";
import { SerialQueue } from "../util/serial.js";
import type { BackgroundTasks } from "../util/tasks.js";

export class Throttle {
  private readonly last = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly intervalMs: number,
    private readonly run: (key: string) => void,
  ) {}

  /** Run for `key` now, or once at the end of the current interval if it ran recently. */
  touch(key: string): void {
    if (this.timers.has(key)) return;
    const wait = (this.last.get(key) ?? 0) + this.intervalMs - Date.now();
    const fire = () => {
      this.timers.delete(key);
      this.last.set(key, Date.now());
      this.run(key);
    };
    if (wait <= 0) fire();
    else this.timers.set(key, setTimeout(fire, wait));
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** Event kinds that change what the status comment and check run say. */
const RELEVANT = new Set(["session.status", "pr.opened", "prompt.started", "prompt.finished", "git.push", "tool.call"]);

export interface ReporterOptions {
  bus: SessionBus;
  tasks: BackgroundTasks;
  intervalMs: number;
  /** Status comment, check run: run in order, never two at once for a session. */
  refresh: ((sessionId: string) => Promise<void>)[];
  /** After a turn ends (PR body). */
  afterTurn: (sessionId: string) => Promise<void>;
  /** A prompt was picked up by the runner. */
  pickedUp: (sessionId: string, promptId: number) => Promise<void>;
}

export function startReporter(opts: ReporterOptions): { touch(sessionId: string): void; stop(): void } {
  const queue = new SerialQueue();
  const turnEnded = new Set<string>();
  const serial = (id: string, fn: () => Promise<void>) => opts.tasks.run(`github report ${id}`, () => queue.run(id, fn));
  const throttle = new Throttle(opts.intervalMs, (id) =>
    serial(id, async () => {
      for (const refresh of opts.refresh) await refresh(id);
      if (turnEnded.delete(id)) await opts.afterTurn(id);
    }),
  );
  const off = opts.bus.on((sessionId, events) => {
    for (const e of events) {
      if (e.type === "prompt.started") opts.tasks.run(`picked up ${sessionId}`, () => opts.pickedUp(sessionId, e.data.promptId));
      if (e.type === "prompt.finished") turnEnded.add(sessionId);
    }
    if (events.some((e) => RELEVANT.has(e.type))) throttle.touch(sessionId);
  });
  return {
    touch: (id) => throttle.touch(id),
    stop() {
      off();
      throttle.close();
    },
  };
}
