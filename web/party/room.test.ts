import { beforeEach, describe, expect, it } from "vitest";
import type { SessionEvent } from "../../protocol/events.js";
import { RoomMessage } from "../../protocol/room.js";
import { signViewerToken } from "../../protocol/viewer-token.js";
import { SessionRoom, type RoomConnection, type RoomStorage } from "./room.js";

const SECRET = "room-secret-for-unit-tests-0123456789";

/** An in-memory stand-in for Durable Object storage (the platform's, not ours). */
class MapStorage implements RoomStorage {
  data = new Map<string, unknown>();
  async list<T>({ prefix }: { prefix: string }) {
    const out = new Map<string, T>();
    for (const [k, v] of [...this.data].sort(([a], [b]) => a.localeCompare(b)))
      if (k.startsWith(prefix)) out.set(k, v as T);
    return out;
  }
  async put<T>(entries: Record<string, T>) {
    for (const [k, v] of Object.entries(entries)) this.data.set(k, v);
  }
  async delete(keys: string[]) {
    // Durable Object storage takes at most 128 keys per call.
    expect(keys.length).toBeLessThanOrEqual(128);
    return keys.filter((k) => this.data.delete(k)).length;
  }
}

class Viewer implements RoomConnection {
  messages: RoomMessage[] = [];
  closed: { code?: number; reason?: string } | null = null;
  constructor(readonly id: string) {}
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
  }
  send(message: string) {
    this.messages.push(RoomMessage.parse(JSON.parse(message)));
  }
  seqs() {
    return this.messages.flatMap((m) => (m.type === "presence" ? [] : m.events.map((e) => e.seq)));
  }
  lastPresence() {
    return [...this.messages].reverse().find((m) => m.type === "presence");
  }
}

const ev = (seq: number, text = `part ${seq}`): SessionEvent => ({
  seq,
  ts: new Date(1_700_000_000_000 + seq).toISOString(),
  type: "agent.text",
  data: { partId: "p", text },
});

function post(body: unknown, secret: string | null = SECRET): Request {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers.authorization = `Bearer ${secret}`;
  return new Request("http://room/parties/main/s1", {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("SessionRoom", () => {
  let storage: MapStorage;
  let room: SessionRoom;
  beforeEach(() => {
    storage = new MapStorage();
    room = new SessionRoom("s1", storage, SECRET);
  });

  it("appends with the secret and broadcasts the new events in seq order", async () => {
    const v = new Viewer("a");
    room.connect(v, { login: "ann", avatarUrl: null }, 0);
    const res = await room.handleRequest(post({ events: [ev(2), ev(1)] }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, lastSeq: 2 });
    expect(v.seqs()).toEqual([1, 2]);
  });

  it("refuses a wrong or missing secret with 401 and appends nothing", async () => {
    for (const secret of ["wrong-secret-wrong-secret", null, ""]) {
      const res = await room.handleRequest(post({ events: [ev(1)] }, secret));
      expect(res.status).toBe(401);
    }
    expect(room.size).toBe(0);
    expect(storage.data.size).toBe(0);
  });

  it("refuses malformed bodies with 400 and appends nothing", async () => {
    const bad = [
      "not json",
      { events: [] },
      { events: [{ seq: 1, type: "agent.text" }] },
      { events: [{ ...ev(1), type: "nope" }] },
      { events: [{ ...ev(1), seq: -1 }] },
    ];
    for (const body of bad) expect((await room.handleRequest(post(body))).status).toBe(400);
    expect(room.size).toBe(0);
  });

  it("ignores redelivered events and slots a late, missing one into place", async () => {
    await room.append([ev(1), ev(3)]);
    expect(await room.append([ev(1), ev(3)])).toBe(0);
    expect(await room.append([ev(2)])).toBe(1);
    const late = new Viewer("late");
    room.connect(late, { login: "bob", avatarUrl: null }, 0);
    expect(late.seqs()).toEqual([1, 2, 3]);
  });

  it("stores and broadcasts an event once when two appends of it overlap", async () => {
    const v = new Viewer("a");
    room.connect(v, { login: "ann", avatarUrl: null }, 0);
    const counts = await Promise.all([room.append([ev(1), ev(2)]), room.append([ev(2), ev(1)])]);
    expect(counts.reduce((a, b) => a + b)).toBe(2);
    expect(v.seqs()).toEqual([1, 2]);
    expect(room.size).toBe(2);
  });

  it("replays only what is newer than `since`, and marks the end of the backlog", async () => {
    await room.append([1, 2, 3, 4, 5].map((s) => ev(s)));
    const v = new Viewer("r");
    room.connect(v, { login: "ann", avatarUrl: null }, 3);
    expect(v.seqs()).toEqual([4, 5]);
    const backlog = v.messages.filter((m) => m.type === "backlog");
    expect(backlog.at(-1)).toMatchObject({ done: true });
  });

  it("splits a large backlog into chunks under the WebSocket message cap", async () => {
    await room.append(Array.from({ length: 100 }, (_, i) => ev(i + 1, "x".repeat(10_000))));
    const messages = room.backlogMessages(0);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.length).toBeLessThan(1024 * 1024);
    expect(messages.map((m) => JSON.parse(m).done)).toEqual([...Array(messages.length - 1).fill(false), true]);
  });

  it("survives a restart: a new room over the same storage replays the same log, large events included", async () => {
    const big = "y".repeat(150_000); // larger than one storage value
    await room.append([ev(1), ev(2, big), ev(3)]);
    const restarted = new SessionRoom("s1", storage, SECRET);
    await restarted.load();
    const v = new Viewer("after");
    restarted.connect(v, { login: "ann", avatarUrl: null }, 0);
    const events = v.messages.flatMap((m) => (m.type === "backlog" ? m.events : []));
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(events[1]).toMatchObject({ data: { text: big } });
  });

  it("broadcasts presence on join and leave, one entry per login", async () => {
    const a = new Viewer("a");
    const b1 = new Viewer("b1");
    const b2 = new Viewer("b2");
    room.connect(a, { login: "ann", avatarUrl: "https://avatars.example/ann" }, 0);
    room.connect(b1, { login: "bob", avatarUrl: null }, 0);
    room.connect(b2, { login: "bob", avatarUrl: null }, 0);
    expect(a.lastPresence()).toEqual({
      type: "presence",
      watchers: [
        { login: "ann", avatarUrl: "https://avatars.example/ann" },
        { login: "bob", avatarUrl: null },
      ],
    });
    room.disconnect(b1);
    expect(a.lastPresence()?.type === "presence" && a.lastPresence()).toMatchObject({
      watchers: [{ login: "ann" }, { login: "bob" }],
    });
    room.disconnect(b2);
    expect(a.lastPresence()).toEqual({
      type: "presence",
      watchers: [{ login: "ann", avatarUrl: "https://avatars.example/ann" }],
    });
  });

  describe("viewer tokens", () => {
    it("accepts a token for this session and reads login, avatar and since", async () => {
      const { token, expiresAt } = await signViewerToken(SECRET, {
        login: "ann",
        sessionId: "s1",
        avatarUrl: "https://avatars.example/ann",
      });
      const verdict = await room.authorize(`http://room/parties/main/s1?token=${token}&since=7`);
      expect(verdict).toEqual({
        ok: true,
        since: 7,
        expiresAt: expiresAt.getTime(),
        watcher: { login: "ann", avatarUrl: "https://avatars.example/ann" },
      });
    });

    it("refuses tokens for another session, with another key, or expired (401)", async () => {
      const other = await signViewerToken(SECRET, { login: "ann", sessionId: "s2" });
      const wrongKey = await signViewerToken("another-secret-another-secret", { login: "ann", sessionId: "s1" });
      const expired = await signViewerToken(SECRET, { login: "ann", sessionId: "s1", ttlSeconds: -10 });
      for (const { token } of [other, wrongKey, expired]) {
        expect(await room.authorize(`http://room/x?token=${token}`)).toMatchObject({ ok: false, status: 401 });
      }
    });

    it("refuses a connect URL without a token or with a bad since (400)", async () => {
      expect(await room.authorize("http://room/x")).toMatchObject({ ok: false, status: 400 });
      const { token } = await signViewerToken(SECRET, { login: "ann", sessionId: "s1" });
      expect(await room.authorize(`http://room/x?token=${token}&since=-1`)).toMatchObject({ ok: false, status: 400 });
    });
  });

  it("stops sending to a viewer whose token expired: closes it so it reconnects (and access is checked again)", async () => {
    let now = 1_000_000;
    const timed = new SessionRoom("s1", new MapStorage(), SECRET, () => now);
    const ann = new Viewer("a");
    const bob = new Viewer("b");
    timed.connect(ann, { login: "ann", avatarUrl: null }, 0, now + 300_000);
    timed.connect(bob, { login: "bob", avatarUrl: null }, 0, now + 600_000);
    await timed.append([ev(1)]);
    expect(ann.seqs()).toEqual([1]);
    now += 300_001;
    await timed.append([ev(2)]);
    expect(ann.seqs()).toEqual([1]);
    expect(ann.closed).toEqual({ code: 4001, reason: "viewer token expired: reconnect with a fresh one" });
    expect(bob.seqs()).toEqual([1, 2]);
    expect(bob.lastPresence()).toEqual({ type: "presence", watchers: [{ login: "bob", avatarUrl: null }] });
  });

  describe("a capped log", () => {
    it("keeps the newest events within the cap, in memory and in storage; a late viewer gets that window, the page backfills the rest", async () => {
      const capped = new SessionRoom("s1", storage, SECRET, Date.now, { events: 10, chars: 1_000_000 });
      for (let i = 1; i <= 30; i += 5) await capped.append([1, 2, 3, 4, 5].map((k) => ev(i + k - 1)));
      expect(capped.size).toBe(10);
      expect(capped.lastSeq).toBe(30);
      expect([...storage.data.keys()].filter((k) => k.startsWith("e:"))).toHaveLength(10);
      const late = new Viewer("late");
      capped.connect(late, { login: "bob", avatarUrl: null }, 0);
      expect(late.seqs()).toEqual(Array.from({ length: 10 }, (_, i) => 21 + i));
      // A redelivery of something older than the window is not kept again.
      expect(await capped.append([ev(3)])).toBe(0);
      // A restart over the same storage has the same window.
      const restarted = new SessionRoom("s1", storage, SECRET, Date.now, { events: 10, chars: 1_000_000 });
      await restarted.load();
      expect(restarted.size).toBe(10);
    });

    it("caps by size too, large events' parts included, keeping at least the newest event", async () => {
      const capped = new SessionRoom("s1", storage, SECRET, Date.now, { events: 1_000, chars: 200_000 });
      await capped.append([ev(1, "a".repeat(150_000))]);
      await capped.append([ev(2, "b".repeat(150_000))]);
      expect(capped.size).toBe(1);
      expect([...storage.data.keys()].some((k) => k.includes(":0000000001"))).toBe(false);
      await capped.append([ev(3, "c".repeat(300_000))]);
      expect(capped.size).toBe(1);
      expect(capped.lastSeq).toBe(3);
      expect([...storage.data.keys()].every((k) => k.includes(":0000000003"))).toBe(true);
    });
  });
});
