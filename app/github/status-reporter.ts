/**
 * Keeps each session's status comment current, edited in place at most once
 * every few seconds (the last state always lands: a trailing edit is scheduled).
 */
import type { SessionBus } from "../sessions/bus.js";
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

/** Event kinds that change what the status comment says. */
const RELEVANT = new Set(["session.status", "pr.opened", "tool.call"]);

export function startStatusReporter(opts: {
  bus: SessionBus;
  tasks: BackgroundTasks;
  intervalMs: number;
  refresh: (sessionId: string) => Promise<void>;
}): () => void {
  const throttle = new Throttle(opts.intervalMs, (id) => opts.tasks.run(`status comment ${id}`, () => opts.refresh(id)));
  const off = opts.bus.on((sessionId, events) => {
    if (events.some((e) => RELEVANT.has(e.type))) throttle.touch(sessionId);
  });
  return () => {
    off();
    throttle.close();
  };
}
