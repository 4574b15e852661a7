/**
 * One session's room, as a plain class: the PartyKit server (./server.ts) only wires
 * platform callbacks to it, so everything here is unit-tested without workerd.
 *
 * - The control plane appends persisted events over HTTP with the shared secret.
 * - The room keeps its own copy of the log (in memory, mirrored to room storage so a
 *   restarted room still replays), replays it in seq order to each viewer that joins
 *   (only what is newer than the viewer's `since`), and broadcasts new events.
 * - Viewers connect with a short-lived token for this session; presence (login and
 *   avatar) is broadcast on every join and leave.
 * - The log is capped (the newest `cap.events` events and `cap.chars` characters, in
 *   memory and in storage): a long session does not grow a room without end. A viewer
 *   whose `since` is older than what the room keeps gets the window it has; the gap before
 *   it is what the page already fills from the control plane's events API (the database
 *   is the whole log).
 */
import { AppendRequest, ConnectQuery, type RoomMessage, type Watcher } from "../../protocol/room.js";
import type { SessionEvent } from "../../protocol/events.js";
import { verifyViewerToken } from "../../protocol/viewer-token.js";

/** The subset of Durable Object storage the room uses. */
export interface RoomStorage {
  list<T = unknown>(options: { prefix: string }): Promise<Map<string, T>>;
  put<T>(entries: Record<string, T>): Promise<void>;
  delete(keys: string[]): Promise<unknown>;
}

/** The subset of a PartyKit connection the room uses. */
export interface RoomConnection {
  id: string;
  send(message: string): void;
  close?(code?: number, reason?: string): void;
}

/** A stored event with its JSON kept, so replay and broadcast never re-serialise. */
interface LogEntry {
  seq: number;
  json: string;
}

export interface LogCap {
  events: number;
  chars: number;
}
/** A few thousand events is hours of a busy session; 8 M characters stays far from the isolate's memory limit. */
const DEFAULT_CAP: LogCap = { events: 5_000, chars: 8_000_000 };

// Storage values are capped at 128 KiB; an event's JSON is split into parts under that.
const PART_CHARS = 40_000;
const PUT_BATCH = 128; // keys per storage.put call
// Backlog messages stay well under Cloudflare's 1 MiB WebSocket message cap.
const BACKLOG_CHUNK_CHARS = 256_000;

const seqKey = (seq: number) => seq.toString().padStart(10, "0");

export type ConnectResult =
  | { ok: true; watcher: Watcher; since: number; expiresAt: number }
  | { ok: false; status: 400 | 401 | 500; error: string };

export class SessionRoom {
  private log: LogEntry[] = [];
  private chars = 0;
  /** The newest seq dropped from the window: older appends are not kept either. */
  private forgottenThrough = 0;
  private connections = new Map<string, { conn: RoomConnection; watcher: Watcher; expiresAt: number }>();

  constructor(
    readonly sessionId: string,
    private readonly storage: RoomStorage,
    private readonly secret: string | undefined,
    private readonly now: () => number = Date.now,
    private readonly cap: LogCap = DEFAULT_CAP,
  ) {}

  get lastSeq(): number {
    return this.log.length ? this.log[this.log.length - 1]!.seq : 0;
  }

  get size(): number {
    return this.log.length;
  }

  /** Restore the log from storage (PartyKit's onStart). */
  async load(): Promise<void> {
    const whole = await this.storage.list<string>({ prefix: "e:" });
    const parts = await this.storage.list<string>({ prefix: "p:" });
    const entries: LogEntry[] = [];
    for (const [key, value] of whole) {
      const seq = Number(key.slice(2));
      if (value.startsWith("{")) {
        entries.push({ seq, json: value });
        continue;
      }
      // "parts:N" → the event's JSON is split over p:<seq>:0..N-1
      const n = Number(value.slice("parts:".length));
      let json = "";
      for (let i = 0; i < n; i++) json += parts.get(`p:${seqKey(seq)}:${i}`) ?? "";
      entries.push({ seq, json });
    }
    entries.sort((a, b) => a.seq - b.seq);
    this.log = entries;
    this.chars = entries.reduce((n, e) => n + e.json.length, 0);
    await this.trim();
  }

  /** HTTP: POST appends (control plane only); anything else is refused. */
  async handleRequest(req: Request): Promise<Response> {
    // Read the body before any answer: workerd drops the keep-alive connection otherwise.
    const body = await req.text();
    if (req.method !== "POST") return json(405, { error: "only POST (append) is supported" });
    if (!this.secret) return json(500, { error: "the room secret (INSPECT_ROOM_SECRET) is not configured" });
    if (!(await sameSecret(bearer(req), this.secret))) return json(401, { error: "wrong or missing room secret" });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return json(400, { error: "body is not JSON" });
    }
    const result = AppendRequest.safeParse(parsed);
    if (!result.success) return json(400, { error: "invalid append request", issues: result.error.issues.slice(0, 5) });
    const accepted = await this.append(result.data.events);
    return json(200, { accepted, lastSeq: this.lastSeq });
  }

  /** Store the events the room has not seen, then broadcast them. Returns how many were new. */
  async append(events: SessionEvent[]): Promise<number> {
    const fresh: LogEntry[] = [];
    const sorted = [...events].sort((a, b) => a.seq - b.seq);
    for (const event of sorted) {
      if (this.has(event.seq) || fresh.some((e) => e.seq === event.seq)) continue; // redelivery is harmless
      if (event.seq <= this.forgottenThrough) continue; // older than the window: the database has it
      fresh.push({ seq: event.seq, json: JSON.stringify(event) });
    }
    if (fresh.length === 0) return 0;
    await this.persist(fresh);
    // Another append may have stored the same seqs while we awaited storage: keep one copy.
    const added = fresh.filter((entry) => !this.has(entry.seq));
    for (const entry of added) this.insert(entry);
    if (added.length) this.broadcastRaw(`{"type":"events","events":[${added.map((e) => e.json).join(",")}]}`);
    await this.trim();
    return added.length;
  }

  /** Check a viewer's connect URL (`?token=…&since=N`) for this room. */
  async authorize(url: string): Promise<ConnectResult> {
    const params = Object.fromEntries(new URL(url).searchParams);
    const query = ConnectQuery.safeParse(params);
    if (!query.success) return { ok: false, status: 400, error: "connect with ?token=<viewer token>&since=<seq>" };
    if (!this.secret)
      return { ok: false, status: 500, error: "the room secret (INSPECT_ROOM_SECRET) is not configured" };
    const claims = await verifyViewerToken(this.secret, query.data.token, this.sessionId);
    if (!claims) return { ok: false, status: 401, error: "invalid or expired viewer token for this session" };
    return {
      ok: true,
      since: query.data.since,
      expiresAt: claims.exp * 1000,
      watcher: { login: claims.sub, avatarUrl: claims.avatar ?? null },
    };
  }

  /**
   * A viewer joined: replay what it has not seen, then tell everyone who is watching.
   * Its token's expiry is kept: past it, the viewer gets no more events but a close, and
   * reconnects with a fresh token — which the control plane issues only after checking,
   * again, that the viewer can still read the repository.
   */
  connect(conn: RoomConnection, watcher: Watcher, since: number, expiresAt = Number.POSITIVE_INFINITY): void {
    this.connections.set(conn.id, { conn, watcher, expiresAt });
    for (const message of this.backlogMessages(since)) conn.send(message);
    this.broadcastPresence();
  }

  disconnect(conn: RoomConnection): void {
    if (this.connections.delete(conn.id)) this.broadcastPresence();
  }

  /** One entry per login, in order of arrival. */
  watchers(): Watcher[] {
    const byLogin = new Map<string, Watcher>();
    for (const { watcher } of this.connections.values())
      if (!byLogin.has(watcher.login)) byLogin.set(watcher.login, watcher);
    return [...byLogin.values()];
  }

  /** The backlog after `since`, chunked; always at least one message (so `done` arrives). */
  backlogMessages(since: number): string[] {
    const start = this.firstIndexAfter(since);
    const messages: string[] = [];
    let chunk: string[] = [];
    let chars = 0;
    for (let i = start; i < this.log.length; i++) {
      const entry = this.log[i]!;
      if (chunk.length > 0 && chars + entry.json.length > BACKLOG_CHUNK_CHARS) {
        messages.push(`{"type":"backlog","done":false,"events":[${chunk.join(",")}]}`);
        chunk = [];
        chars = 0;
      }
      chunk.push(entry.json);
      chars += entry.json.length;
    }
    messages.push(`{"type":"backlog","done":true,"events":[${chunk.join(",")}]}`);
    return messages;
  }

  private broadcastPresence(): void {
    const message: RoomMessage = { type: "presence", watchers: this.watchers() };
    this.broadcastRaw(JSON.stringify(message));
  }

  private broadcastRaw(message: string): void {
    let expired = false;
    const now = this.now();
    for (const [id, { conn, expiresAt }] of this.connections) {
      if (expiresAt <= now) {
        this.connections.delete(id);
        expired = true;
        try {
          conn.close?.(4001, "viewer token expired: reconnect with a fresh one");
        } catch {
          /* already closed */
        }
        continue;
      }
      try {
        conn.send(message);
      } catch {
        // A socket closing mid-send is cleaned up by its close callback.
      }
    }
    if (expired) this.broadcastPresence();
  }

  private async persist(entries: LogEntry[]): Promise<void> {
    const puts: Record<string, string> = {};
    for (const { seq, json: text } of entries) {
      if (text.length <= PART_CHARS) {
        puts[`e:${seqKey(seq)}`] = text;
        continue;
      }
      const n = Math.ceil(text.length / PART_CHARS);
      for (let i = 0; i < n; i++) puts[`p:${seqKey(seq)}:${i}`] = text.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
      puts[`e:${seqKey(seq)}`] = `parts:${n}`;
    }
    const keys = Object.keys(puts);
    for (let i = 0; i < keys.length; i += PUT_BATCH) {
      const batch: Record<string, string> = {};
      for (const key of keys.slice(i, i + PUT_BATCH)) batch[key] = puts[key]!;
      await this.storage.put(batch);
    }
  }

  /** Drop the oldest events past the cap, from memory and storage; the newest is always kept. */
  private async trim(): Promise<void> {
    let drop = 0;
    let chars = this.chars;
    while (this.log.length - drop > 1 && (this.log.length - drop > this.cap.events || chars > this.cap.chars)) {
      chars -= this.log[drop]!.json.length;
      drop++;
    }
    if (drop === 0) return;
    const dropped = this.log.splice(0, drop);
    this.chars = chars;
    this.forgottenThrough = Math.max(this.forgottenThrough, dropped.at(-1)!.seq);
    const keys: string[] = [];
    for (const { seq, json: text } of dropped) {
      keys.push(`e:${seqKey(seq)}`);
      const parts = text.length > PART_CHARS ? Math.ceil(text.length / PART_CHARS) : 0;
      for (let i = 0; i < parts; i++) keys.push(`p:${seqKey(seq)}:${i}`);
    }
    for (let i = 0; i < keys.length; i += PUT_BATCH) await this.storage.delete(keys.slice(i, i + PUT_BATCH));
  }

  /** Index of the first entry with seq > since (binary search: the log is sorted). */
  private firstIndexAfter(since: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid]!.seq <= since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private has(seq: number): boolean {
    const i = this.firstIndexAfter(seq - 1);
    return i < this.log.length && this.log[i]!.seq === seq;
  }

  /** Appends are nearly always in order; an older, missing seq is slotted into place. */
  private insert(entry: LogEntry): void {
    this.chars += entry.json.length;
    if (entry.seq > this.lastSeq) this.log.push(entry);
    else this.log.splice(this.firstIndexAfter(entry.seq), 0, entry);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function bearer(req: Request): string {
  const header = req.headers.get("authorization") ?? "";
  return header.startsWith("Bearer ") ? header.slice(7) : "";
}

/** Constant-time comparison (of digests, so lengths do not leak either). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(given)),
    crypto.subtle.digest("SHA-256", enc.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0 && given.length > 0;
}
