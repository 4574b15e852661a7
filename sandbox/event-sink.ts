/**
 * Events leave the sandbox in order, in small batches: one POST in flight at a time, the
 * next batch formed from whatever queued meanwhile. Consecutive text deltas of one part (and
 * consecutive setup output of one stream) are merged, so a chatty stream costs few requests.
 * Every string is redacted before it leaves.
 */
import type { NewEvent } from "../protocol/events.js";
import { redactDeep, type Redactor } from "./redact.js";

const MERGE_LIMIT = 16_000;

/** Merge neighbours that are pieces of the same stream; order is kept. */
export function coalesce(events: NewEvent[]): NewEvent[] {
  const out: NewEvent[] = [];
  for (const ev of events) {
    const last = out[out.length - 1];
    if (
      last?.type === "agent.text.delta" &&
      ev.type === "agent.text.delta" &&
      last.data.partId === ev.data.partId &&
      last.data.delta.length + ev.data.delta.length <= MERGE_LIMIT
    ) {
      out[out.length - 1] = {
        type: "agent.text.delta",
        data: { partId: ev.data.partId, delta: last.data.delta + ev.data.delta },
      };
    } else if (
      last?.type === "setup.output" &&
      ev.type === "setup.output" &&
      last.data.stream === ev.data.stream &&
      last.data.text.length + ev.data.text.length <= MERGE_LIMIT
    ) {
      out[out.length - 1] = {
        type: "setup.output",
        data: { stream: ev.data.stream, text: last.data.text + ev.data.text },
      };
    } else {
      out.push(ev);
    }
  }
  return out;
}

export interface EventSinkOptions {
  send: (events: NewEvent[]) => Promise<void>;
  redact: Redactor;
  maxBatch?: number;
  /** Wait this long for more events before sending a batch (keeps batches small but not tiny). */
  lingerMs?: number;
  onDrop?: (count: number, error: unknown) => void;
}

export class EventSink {
  private queue: NewEvent[] = [];
  private running: Promise<void> | null = null;
  private readonly maxBatch: number;
  private readonly lingerMs: number;

  constructor(private readonly options: EventSinkOptions) {
    this.maxBatch = options.maxBatch ?? 100;
    this.lingerMs = options.lingerMs ?? 30;
  }

  push(events: NewEvent[]): void {
    if (events.length === 0) return;
    for (const ev of events) this.queue.push(redactDeep(ev, this.options.redact));
    if (!this.running) this.running = this.drain();
  }

  /** Resolves when everything pushed so far has been sent (or given up on). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      await new Promise((r) => setTimeout(r, this.lingerMs));
      while (this.queue.length > 0) {
        const merged = coalesce(this.queue.splice(0, this.queue.length));
        const batch = merged.splice(0, this.maxBatch);
        this.queue.unshift(...merged);
        try {
          await this.options.send(batch);
        } catch (error) {
          // The sender already retried; losing a batch is better than stalling the turn.
          this.options.onDrop?.(batch.length, error);
        }
      }
    } finally {
      this.running = null;
    }
  }
}
