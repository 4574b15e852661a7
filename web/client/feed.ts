/**
 * Delivers a session's events to the page exactly once and in seq order, from the
 * room when it is reachable and from the session API otherwise. A gap in what the
 * room sends (it missed an append) is filled from the API, which is the durable log.
 */
import PartySocket from "partysocket";
import { SessionEventSchema, type SessionEvent } from "../../protocol/events.js";
import { RoomMessage, RoomTokenResponse, type Watcher } from "../../protocol/room.js";
import { z } from "zod";

export type FeedState = "connecting" | "live" | "polling";

export interface FeedHooks {
  onEvent(event: SessionEvent): void;
  onPresence(watchers: Watcher[]): void;
  onState(state: FeedState): void;
}

const EventsResponse = z.object({ events: z.array(SessionEventSchema) });
const POLL_MS = 2_000;
/** Polls between two checks of the log while the room is live (10 s). */
const CHECK_WHILE_LIVE_EVERY = 5;

export class EventFeed {
  lastSeq = 0;
  private readonly pending = new Map<number, SessionEvent>();
  private backfilling: Promise<void> | null = null;
  private socket: PartySocket | null = null;
  private open = false;

  constructor(
    private readonly sessionId: string,
    private readonly hooks: FeedHooks,
  ) {}

  async start(useRoom: boolean): Promise<void> {
    this.hooks.onState("connecting");
    // Until the room answers (or if it never does), the API keeps the page current. While the
    // room is connected the log is still asked now and then: an append the room missed at the
    // end of a burst would otherwise wait for the next event to reveal the gap.
    let ticks = 0;
    setInterval(() => {
      ticks++;
      if (!this.open || ticks % CHECK_WHILE_LIVE_EVERY === 0) void this.backfill();
    }, POLL_MS);
    if (!useRoom) {
      this.hooks.onState("polling");
      await this.backfill();
      return;
    }
    let first: RoomTokenResponse;
    try {
      first = await this.token();
    } catch {
      this.hooks.onState("polling");
      await this.backfill();
      return;
    }
    const host = new URL(first.host);
    let reuse: RoomTokenResponse | null = first;
    this.socket = new PartySocket({
      host: host.host,
      protocol: host.protocol === "https:" ? "wss" : "ws",
      party: first.party,
      room: first.room,
      // Every (re)connect: a fresh token, and only what this page has not seen yet.
      query: async () => {
        const t = reuse ?? (await this.token());
        reuse = null;
        return { token: t.token, since: String(this.lastSeq) };
      },
    });
    this.socket.addEventListener("open", () => {
      this.open = true;
    });
    this.socket.addEventListener("close", () => {
      this.open = false;
      this.hooks.onState("polling");
      void this.backfill(); // do not wait for the next poll to catch up
    });
    this.socket.addEventListener("message", (m) => this.onMessage(String(m.data)));
  }

  private onMessage(raw: string): void {
    let parsed;
    try {
      parsed = RoomMessage.safeParse(JSON.parse(raw));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const msg = parsed.data as RoomMessage;
    if (msg.type === "presence") return this.hooks.onPresence(msg.watchers);
    this.receive(msg.events);
    if (msg.type === "backlog" && msg.done) this.hooks.onState("live");
  }

  /** Apply what is next in line; anything beyond a gap waits while the API fills the gap. */
  receive(events: SessionEvent[]): void {
    for (const e of events) if (e.seq > this.lastSeq) this.pending.set(e.seq, e);
    while (this.pending.has(this.lastSeq + 1)) {
      const next = this.pending.get(this.lastSeq + 1)!;
      this.pending.delete(next.seq);
      this.lastSeq = next.seq;
      this.hooks.onEvent(next);
    }
    if (this.pending.size > 0) void this.backfill();
  }

  /** Fetch from the API until it has nothing newer. One at a time. */
  backfill(): Promise<void> {
    if (this.backfilling) return this.backfilling;
    this.backfilling = (async () => {
      try {
        for (;;) {
          const res = await fetch(`/api/sessions/${encodeURIComponent(this.sessionId)}/events?since=${this.lastSeq}`, {
            headers: { accept: "application/json" },
          });
          if (!res.ok) return;
          const body = EventsResponse.safeParse(await res.json());
          if (!body.success || body.data.events.length === 0) return;
          const before = this.lastSeq;
          this.receive(body.data.events as SessionEvent[]);
          if (this.lastSeq === before) return;
        }
      } catch {
        /* offline: the next poll tries again */
      } finally {
        this.backfilling = null;
      }
    })();
    return this.backfilling;
  }

  private async token(): Promise<RoomTokenResponse> {
    const res = await fetch(`/api/sessions/${encodeURIComponent(this.sessionId)}/room-token`, {
      headers: { accept: "application/json" },
    });
    if (!res.ok) throw new Error(`room token: HTTP ${res.status}`);
    return RoomTokenResponse.parse(await res.json());
  }
}
