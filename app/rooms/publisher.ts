/**
 * Forwards persisted events to the session's room. The database is the durable log,
 * so the room is best effort: a failure is logged and never thrown into the caller,
 * and the page backfills from the session API when it sees a gap.
 *
 * Each session has one lane: POSTs go one at a time, in the order events were
 * persisted, and events published while a POST is in flight are coalesced into the
 * next one. A slow room therefore costs fewer, larger requests, not a growing chain.
 */
import type { SessionEvent } from "../../protocol/events.js";
import { roomPath } from "../../protocol/room.js";

export interface RoomPublisher {
  /** Never rejects. Resolves once these events were sent (or the attempt failed and was logged). */
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

interface Lane {
  queue: SessionEvent[];
  waiters: (() => void)[];
}

export class HttpRoomPublisher implements RoomPublisher {
  private readonly lanes = new Map<string, Lane>();
  private readonly fetchFn: typeof fetch;
  /** While the room is unreachable, say so once rather than on every event. */
  private unreachable = false;

  constructor(private readonly opts: HttpRoomPublisherOptions) {
    this.fetchFn = opts.fetch ?? fetch;
  }

  publish(sessionId: string, events: SessionEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    let lane = this.lanes.get(sessionId);
    const idle = !lane;
    if (!lane) this.lanes.set(sessionId, (lane = { queue: [], waiters: [] }));
    lane.queue.push(...events);
    const sent = new Promise<void>((resolve) => lane.waiters.push(resolve));
    if (idle) void this.drain(sessionId, lane);
    return sent;
  }

  private async drain(sessionId: string, lane: Lane): Promise<void> {
    while (lane.queue.length > 0) {
      const batch = lane.queue.splice(0, MAX_BATCH);
      // Everyone waiting now has their events in this batch or an earlier one.
      const settled = lane.queue.length === 0 ? lane.waiters.splice(0) : [];
      const ok = await this.send(sessionId, batch);
      // Unreachable: drop what is queued (it is in the database; viewers backfill).
      if (!ok) lane.queue.length = 0;
      for (const resolve of settled) resolve();
    }
    for (const resolve of lane.waiters.splice(0)) resolve();
    this.lanes.delete(sessionId);
  }

  /** One POST (retried once on a stale kept-alive connection); false when the room is unreachable. */
  private async send(sessionId: string, batch: SessionEvent[]): Promise<boolean> {
    try {
      const res = await this.post(sessionId, batch);
      const text = await res.text();
      if (this.unreachable) this.log("room server reachable again");
      this.unreachable = false;
      if (!res.ok)
        this.log(
          `room ${sessionId}: append of seq ${batch[0]!.seq}..${batch.at(-1)!.seq} refused: ${res.status} ${text.slice(0, 200)}`,
        );
      return true;
    } catch (err) {
      if (!this.unreachable)
        this.log(`room ${sessionId}: unreachable (${describe(err)}); viewers will backfill from the API`);
      this.unreachable = true;
      return false;
    }
  }

  /**
   * Retried once when a kept-alive connection turns out to be closed by the server
   * (undici reports UND_ERR_SOCKET/ECONNRESET). Appends are idempotent (the room ignores
   * seqs it has), so the retry cannot duplicate anything.
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

/** fetch's own message is just "fetch failed"; the cause says why (ECONNREFUSED, timeout…). */
function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause ? `${e.message}: ${e.cause.code ?? e.cause.message}` : e.message;
}
