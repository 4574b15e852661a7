import { BoundedMap } from "../util/bounded-map.js";

/** At most one run per key per interval; the last touch always lands. */
export class Throttle {
  // Bounded: a key per session ever touched; a forgotten one just runs at once next time.
  private readonly last = new BoundedMap<string, number>(10_000);
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
