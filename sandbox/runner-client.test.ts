import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ContactLostError, RunnerClient } from "./runner-client.js";
import { sessionSpec } from "../test/support/session-spec.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let close: (() => Promise<void>) | null = null;

/** A control plane stand-in at the HTTP boundary: `handler` decides each answer. */
async function controlPlane(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  close = () => new Promise((r) => server.close(() => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await close?.();
  close = null;
});

function client(url: string, contactTimeoutMs: number): RunnerClient {
  const api = new RunnerClient(url, { retryDelayMs: 20, log: () => undefined });
  api.adopt({
    sessionToken: "t",
    session: sessionSpec("/r", { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: contactTimeoutMs }),
  });
  return api;
}

describe("the runner's reports to a control plane that fails", () => {
  it("sends a prompt's end report again when the answer was lost, and takes 409 (recorded already) as done", async () => {
    const seen: string[] = [];
    const url = await controlPlane((req, res, body) => {
      seen.push(`${req.method} ${req.url} ${body}`);
      // The first report is received and recorded, but its answer never arrives.
      if (seen.length === 1) return void req.socket.destroy();
      res.writeHead(409, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "prompt 7 is not running" }));
    });
    await client(url, 10_000).promptDone(7, { status: "done", commits: [] });
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0]).toMatch(/^POST \/api\/runner\/sessions\/s1\/prompts\/7\/done /);
  });

  it("keeps sending events through a control plane's outage (5xx, refused) until it answers", async () => {
    let calls = 0;
    const url = await controlPlane((_req, res) => {
      calls++;
      if (calls < 6) {
        res.writeHead(503);
        return void res.end("database unavailable");
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ lastSeq: 42 }));
    });
    // More attempts than a bounded retry would make: it goes on while there is contact time left.
    expect(await client(url, 10_000).events([{ type: "setup.output", data: { stream: "stdout", text: "x" } }])).toBe(
      42,
    );
    expect(calls).toBe(6);
  });

  it("gives up once the control plane has not answered for the contact timeout, and says so", async () => {
    const url = await controlPlane((_req, res) => {
      res.writeHead(502);
      res.end();
    });
    const api = client(url, 300);
    const started = Date.now();
    const error = await api.pushed({ branch: "b", sha: "a".repeat(40) }).catch((e) => e);
    expect(error).toBeInstanceOf(ContactLostError);
    expect(error.message).toMatch(/has not answered for over 0 s; giving up on POST/);
    expect(api.contactLost()).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
