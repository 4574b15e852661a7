/**
 * Runs tasks one after another per key, in call order; different keys run side by side.
 * With `holdMs`, a task holds its key at most that long: a stuck task (a stalled network
 * call) delays the ones behind it, but never blocks them for good.
 */
export class SerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly holdMs = Number.POSITIVE_INFINITY) {}

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    const tail = Number.isFinite(this.holdMs) ? Promise.race([settled, released(this.holdMs)]) : settled;
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

function released(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
