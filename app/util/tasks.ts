/**
 * Work that continues after a response has been sent (webhook follow-through,
 * GitHub updates). Tracked so shutdown and tests can wait for it, and so a
 * failure is logged instead of becoming an unhandled rejection.
 */
export interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();
  /** How many tasks have failed since start (for health and tests). */
  failures = 0;
  constructor(private readonly log: Logger) {}

  run(name: string, fn: () => Promise<unknown>): void {
    const p = Promise.resolve()
      .then(fn)
      .catch((err) => {
        this.failures++;
        this.log.error({ err, task: name }, `background task ${name} failed`);
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Wait until no task is pending, including tasks started by tasks. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
