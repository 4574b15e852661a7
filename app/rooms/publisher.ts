/**
 * Forwards persisted events to the session's room. The database is the durable log,
 * so the room is best effort: a failure is logged and never thrown into the caller,
 * and the page backfills from the session API when it sees a gap.
 *
 * POSTs for one session are sent one after another, so the room receives events in
 * the order they were persisted even when appends are not awaited.
 */
import type { SessionEvent } from "../protocol/events.js";
import { roomPath } from "../protocol/room.js";

export interface RoomPublisher {
  /** Never rejects. Resolves once the room answered (or the attempt failed and was logged). */
  publish(sessionId: string, events: SessionEvent[]): Promise<void>;
}

export interface HttpRoomPublisherOptions {
  /** Base URL of the room server, e.g. http://127.0.0.1:1999 or https://inspect-rooms.<user>.partykit.dev */
  url: string;
  secret: string;
  timeoutMs?: number;
  log?: (message: string) => void;
  fetch?: typeof fetch;
}

const MAX_BATCH = 1_000; // the room's AppendRequest limit

export class HttpRoomPublisher implements RoomPublisher {
  private readonly tails = new Map<string, Promise<void>>();
  /** While the room is unreachable, say so once rather than on every event. */
  private unreachable = false;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: HttpRoomPublisherOptions) {
    this.fetchFn = opts.fetch ?? fetch;
  }

  publish(sessionId: string, events: SessionEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const previous = this.tails.get(sessionId) ?? Promise.resolve();
    const next = previous.then(() => this.send(sessionId, events));
    this.tails.set(sessionId, next);
    // Forget the chain once it is idle, so the map does not grow with every session ever seen.
    void next.then(() => {
      if (this.tails.get(sessionId) === next) this.tails.delete(sessionId);
    });
    return next;
  }

  private async send(sessionId: string, events: SessionEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_BATCH) {
      const batch = events.slice(i, i + MAX_BATCH);
      try {
        const res = await this.post(sessionId, batch);
        const text = await res.text();
        if (this.unreachable) this.log("room server reachable again");
        this.unreachable = false;
        if (!res.ok) this.log(`room ${sessionId}: append of seq ${batch[0]!.seq}..${batch.at(-1)!.seq} refused: ${res.status} ${text.slice(0, 200)}`);
      } catch (err) {
        if (!this.unreachable) this.log(`room ${sessionId}: unreachable (${describe(err)}); viewers will backfill from the API`);
        this.unreachable = true;
        return; // the rest would fail the same way; the database still has them
      }
    }
  }

  /**
   * One POST, retried once when a kept-alive connection turns out to be closed by the
   * server (undici reports UND_ERR_SOCKET/ECONNRESET). Appends are idempotent (the room
   * ignores seqs it has), so the retry cannot duplicate anything.
   */
  private async post(sessionId: string, batch: SessionEvent[]): Promise<Response> {
    const attempt = () =>
      this.fetchFn(`${this.opts.url}${roomPath(sessionId)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.opts.secret}`, "content-type": "application/json" },
        body: JSON.stringify({ events: batch }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000),
      });
    try {
      return await attempt();
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (code !== "UND_ERR_SOCKET" && code !== "ECONNRESET") throw err;
      return attempt();
    }
  }

  private log(message: string): void {
    (this.opts.log ?? ((m: string) => console.warn(`[rooms] ${m}`)))(message);
  }
}

/** For setups without a room server: events stay in the database, pages poll the API. */
export class NoRoomPublisher implements RoomPublisher {
  async publish(): Promise<void> {}
}

/** fetch's own message is just "fetch failed"; the cause says why (ECONNREFUSED, timeout…). */
function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause ? `${e.message}: ${e.cause.code ?? e.cause.message}` : e.message;
}
