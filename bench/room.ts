/**
 * `npm run bench:room` — delivery latency through a real room (`partykit dev`, workerd):
 * from the control plane's publish (HttpRoomPublisher, one HTTP POST per event) to each
 * connected viewer, for 1, 10 and 100 viewers and 1,000 events; and how long a late
 * joiner takes to receive a 10,000-event backlog. Viewers are `ws` clients in this
 * process, so their own parsing is part of the figure (as it would be in a browser).
 * Exits with status 1 when a goal is missed (p99 < 50 ms at 100 viewers, every event
 * delivered, backlog < 0.5 s).
 */
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import type { SessionEvent } from "../protocol/events.js";
import { startRoomDevServer } from "../app/rooms/dev-server.js";
import { HttpRoomPublisher } from "../app/rooms/publisher.js";
import { signViewerToken } from "../protocol/viewer-token.js";
import { freePort } from "../test/support/ports.js";

const SECRET = "bench-room-secret-0123456789abcdef";
const EVENTS = 1_000;
const BACKLOG = 10_000;

function event(seq: number): SessionEvent {
  return {
    seq,
    ts: new Date().toISOString(),
    type: "tool.call",
    data: {
      callId: `call-${seq}`,
      tool: "bash",
      status: "completed",
      title: `npm test -- shard ${seq}`,
      output: `ok ${seq}\n`.repeat(20),
    },
  };
}

async function connect(
  url: string,
  room: string,
  onMessage: (msg: { type: string; done?: boolean; events?: { seq: number }[] }) => void,
): Promise<WebSocket> {
  const { token } = await signViewerToken(SECRET, { login: "bench", sessionId: room });
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/parties/main/${room}?token=${token}&since=0`);
  ws.on("message", (data) => onMessage(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return ws;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(url: string, publisher: HttpRoomPublisher, viewers: number) {
  const room = `bench${viewers}v${Date.now()}`;
  const sentAt = new Map<number, number>();
  const samples: number[] = [];
  let received = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < viewers; i++) {
    sockets.push(
      await connect(url, room, (msg) => {
        if (msg.type !== "events") return;
        const now = performance.now();
        for (const e of msg.events!) {
          samples.push(now - sentAt.get(e.seq)!);
          received++;
        }
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 300)); // let presence broadcasts settle
  const started = performance.now();
  for (let seq = 1; seq <= EVENTS; seq++) {
    sentAt.set(seq, performance.now());
    await publisher.publish(room, [event(seq)]);
  }
  const deadline = Date.now() + 30_000;
  while (received < EVENTS * viewers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - started) / 1000;
  for (const ws of sockets) ws.terminate();
  samples.sort((a, b) => a - b);
  return {
    viewers,
    delivered: received,
    expected: EVENTS * viewers,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    seconds,
  };
}

async function backlog(url: string, publisher: HttpRoomPublisher) {
  const room = `benchBacklog${Date.now()}`;
  const all = Array.from({ length: BACKLOG }, (_, i) => event(i + 1));
  for (let i = 0; i < all.length; i += 1_000) await publisher.publish(room, all.slice(i, i + 1_000));
  const started = performance.now();
  let count = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const ws = await connect(url, room, (msg) => {
    if (msg.type !== "backlog") return;
    count += msg.events!.length;
    if (msg.done) resolveDone();
  });
  // A backlog that never completes is a missed goal, not a hang.
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000).unref())]);
  const ms = performance.now() - started;
  ws.terminate();
  return { events: count, ms };
}

/** Runs the benchmark and prints its table; resolves whether the goals were met. */
async function main(): Promise<boolean> {
  const server = await startRoomDevServer({ port: await freePort(), secret: SECRET, persistDir: false });
  const publisher = new HttpRoomPublisher({ url: server.url, secret: SECRET, log: (m) => console.error(m) });
  try {
    await latency(server.url, publisher, 1); // warm-up: first bundle/isolate start
    const rows = [];
    for (const n of [1, 10, 100]) rows.push(await latency(server.url, publisher, n));
    const late = await backlog(server.url, publisher);
    console.log(`\n| viewers | events | delivered | p50 (ms) | p99 (ms) |\n|---:|---:|---:|---:|---:|`);
    for (const r of rows)
      console.log(
        `| ${r.viewers} | ${EVENTS} | ${r.delivered}/${r.expected} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`,
      );
    console.log(
      `\nLate joiner, ${late.events} of ${BACKLOG} backlog events: ${(late.ms / 1000).toFixed(3)} s (connect + replay).`,
    );
    const ok =
      rows.every((r) => r.delivered === r.expected) &&
      rows.at(-1)!.p99 < 50 &&
      late.ms < 500 &&
      late.events === BACKLOG;
    console.log(ok ? "Goals met (p99 < 50 ms at 100 viewers, backlog < 0.5 s)." : "Goals NOT met.");
    return ok;
  } finally {
    await server.stop();
  }
}

// A missed goal fails the run (CI, scripts), not just a line in the output.
if (!(await main())) process.exitCode = 1;
