/**
 * The publisher's lane per session, against a room stand-in served over real HTTP
 * (a local server that records append bodies and can be made slow or absent).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import type { SessionEvent } from "../../protocol/events.js";
import { HttpRoomPublisher } from "./publisher.js";

let server: http.Server;
let url: string;
let bodies: { path: string; auth: string; seqs: number[] }[] = [];
let delayMs = 0;

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    bodies.push({
      path: req.url!,
      auth: req.headers.authorization ?? "",
      seqs: JSON.parse(body).events.map((e: SessionEvent) => e.seq),
    });
    await new Promise((r) => setTimeout(r, delayMs));
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  bodies = [];
  delayMs = 0;
});

const ev = (seq: number): SessionEvent => ({
  seq,
  ts: new Date().toISOString(),
  type: "agent.text",
  data: { partId: "p", text: String(seq) },
});

it("posts with the secret to the session's room", async () => {
  await new HttpRoomPublisher({ url, secret: "shh-shh-shh-shh-shh" }).publish("abc123", [ev(1)]);
  expect(bodies).toEqual([{ path: "/parties/main/abc123", auth: "Bearer shh-shh-shh-shh-shh", seqs: [1] }]);
});

it("coalesces events published while a POST is in flight, keeping order", async () => {
  delayMs = 100;
  const p = new HttpRoomPublisher({ url, secret: "s".repeat(20) });
  const all = [p.publish("s1", [ev(1)]), p.publish("s1", [ev(2)]), p.publish("s1", [ev(3), ev(4)])];
  await Promise.all(all);
  expect(bodies.map((b) => b.seqs)).toEqual([[1], [2, 3, 4]]);
});

it("keeps sessions independent", async () => {
  delayMs = 50;
  const p = new HttpRoomPublisher({ url, secret: "s".repeat(20) });
  await Promise.all([p.publish("a1", [ev(1)]), p.publish("b1", [ev(1)])]);
  expect(bodies.map((b) => b.path).sort()).toEqual(["/parties/main/a1", "/parties/main/b1"]);
});

it("resolves, logs once, and drops the queue when the room is unreachable", async () => {
  const logs: string[] = [];
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const p = new HttpRoomPublisher({
    url: `http://127.0.0.1:${port}`,
    secret: "s".repeat(20),
    log: (m) => logs.push(m),
  });
  await expect(
    Promise.all([p.publish("x1", [ev(1)]), p.publish("x1", [ev(2)]), p.publish("y1", [ev(1)])]),
  ).resolves.toBeDefined();
  expect(logs).toHaveLength(1);
  expect(logs[0]).toMatch(/unreachable \(fetch failed: ECONNREFUSED\)/);
});
