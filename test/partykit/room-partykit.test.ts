/**
 * The room under the real `partykit dev` (workerd) on loopback, fed by the real
 * HttpRoomPublisher: order, late-join backlog, reconnect with `since`, presence,
 * and refusals (401/400) with nothing appended.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import PartySocket from "partysocket";
import WebSocket from "ws";
import type { SessionEvent } from "../../protocol/events.js";
import { RoomMessage } from "../../protocol/room.js";
import { HttpRoomPublisher } from "../../app/rooms/publisher.js";
import { startRoomDevServer, type RoomDevServer } from "../../app/rooms/dev-server.js";
import { signViewerToken } from "../../protocol/viewer-token.js";
import { freePort } from "../support/ports.js";
import { RoomClient } from "../support/room-client.js";

const SECRET = "integration-room-secret-0123456789";
let server: RoomDevServer;
let publisher: HttpRoomPublisher;
const logs: string[] = [];
const clients: RoomClient[] = [];

const ev = (seq: number): SessionEvent => ({
  seq,
  ts: new Date().toISOString(),
  type: "tool.call",
  data: { callId: `c${seq}`, tool: "bash", status: "completed", title: `step ${seq}` },
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i));
const token = async (sessionId: string, login: string) => (await signViewerToken(SECRET, { login, sessionId })).token;
async function viewer(sessionId: string, login: string, since = 0) {
  const c = await RoomClient.connect(server.url, sessionId, { token: await token(sessionId, login), since });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startRoomDevServer({ port: await freePort(), secret: SECRET, persistDir: false });
  publisher = new HttpRoomPublisher({ url: server.url, secret: SECRET, log: (m) => logs.push(m) });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
});

describe("room under partykit dev", () => {
  it("delivers appended events to a connected viewer in order", async () => {
    const v = await viewer("order", "ann");
    await v.until(() => v.backlogDone());
    // Not awaited one by one: the publisher must still keep them in order.
    const sends = [range(1, 3), range(4, 4), range(5, 9)].map((batch) => publisher.publish("order", batch));
    await Promise.all(sends);
    await v.until(() => v.seqs().length === 9);
    expect(v.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(logs).toEqual([]);
  });

  it("replays the whole log to a late joiner, then streams", async () => {
    await publisher.publish("late", range(1, 50));
    const v = await viewer("late", "bob");
    await v.until(() => v.backlogDone());
    expect(v.seqs()).toEqual(range(1, 50).map((e) => e.seq));
    await publisher.publish("late", [ev(51)]);
    await v.until(() => v.seqs().length === 51);
  });

  it("on reconnect with since, sends only what is newer (partysocket)", async () => {
    await publisher.publish("since", range(1, 5));
    let lastSeq = 0;
    const received: number[] = [];
    const socket = new PartySocket({
      host: server.url.replace(/^http:\/\//, ""),
      protocol: "ws",
      party: "main",
      room: "since",
      WebSocket,
      maxRetries: 5,
      // Evaluated on every (re)connect: a fresh token and the last seq seen.
      query: async () => ({ token: await token("since", "cy"), since: String(lastSeq) }),
    });
    socket.addEventListener("message", (m) => {
      const msg = RoomMessage.parse(JSON.parse(String(m.data)));
      if (msg.type === "presence") return;
      for (const e of msg.events) {
        received.push(e.seq);
        lastSeq = Math.max(lastSeq, e.seq);
      }
    });
    try {
      await waitFor(() => received.length === 5);
      socket.close();
      await publisher.publish("since", range(6, 8)); // missed while away
      socket.reconnect();
      await waitFor(() => received.length >= 8);
      await new Promise((r) => setTimeout(r, 200)); // a duplicate replay would show up here
      expect(received).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      socket.close();
    }
  });

  it("broadcasts presence when viewers join and leave", async () => {
    const a = await viewer("presence", "ann");
    await a.until(() => a.lastPresence()?.length === 1);
    const b = await viewer("presence", "bob");
    await a.until(() => a.lastPresence()?.join() === "ann,bob");
    await b.until(() => b.lastPresence()?.join() === "ann,bob");
    await b.close();
    await a.until(() => a.lastPresence()?.join() === "ann");
  });

  it("refuses appends with a wrong secret (401) or a malformed body (400), appending nothing", async () => {
    const url = `${server.url}/parties/main/refuse`;
    const wrong = await fetch(url, {
      method: "POST",
      headers: { authorization: "Bearer nope-nope-nope-nope" },
      body: JSON.stringify({ events: [ev(1)] }),
    });
    expect(wrong.status).toBe(401);
    const malformed = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}` },
      body: '{"events":[{"seq":"one"}]}',
    });
    expect(malformed.status).toBe(400);
    const notJson = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}` },
      body: "events",
    });
    expect(notJson.status).toBe(400);
    const v = await viewer("refuse", "ann");
    await v.until(() => v.backlogDone());
    expect(v.seqs()).toEqual([]);
  });

  it("refuses viewers without a valid token for this room (401) or without a token (400)", async () => {
    const otherRoom = await token("elsewhere", "ann");
    await expect(RoomClient.connect(server.url, "guarded", { token: otherRoom })).rejects.toMatchObject({
      status: 401,
    });
    const forged = (await signViewerToken("a-different-secret-0123456789", { login: "ann", sessionId: "guarded" }))
      .token;
    await expect(RoomClient.connect(server.url, "guarded", { token: forged })).rejects.toMatchObject({ status: 401 });
    await expect(RoomClient.connect(server.url, "guarded", {})).rejects.toMatchObject({ status: 400 });
  });

  it("logs, and does not throw, when the room is unreachable", async () => {
    const lost: string[] = [];
    const offline = new HttpRoomPublisher({
      url: `http://127.0.0.1:${await freePort()}`,
      secret: SECRET,
      log: (m) => lost.push(m),
    });
    await expect(offline.publish("gone", [ev(1)])).resolves.toBeUndefined();
    expect(lost.join()).toMatch(/unreachable/);
  });
});

describe("room storage", () => {
  it("keeps the log across a room server restart (persisted storage)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "inspect-rooms-"));
    try {
      const first = await startRoomDevServer({ port: await freePort(), secret: SECRET, persistDir: dir });
      await new HttpRoomPublisher({ url: first.url, secret: SECRET }).publish("kept", range(1, 3));
      await first.stop();
      const second = await startRoomDevServer({ port: await freePort(), secret: SECRET, persistDir: dir });
      try {
        const v = await RoomClient.connect(second.url, "kept", { token: await token("kept", "ann") });
        clients.push(v);
        await v.until(() => v.backlogDone());
        expect(v.seqs()).toEqual([1, 2, 3]);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
