/**
 * Inspect's own MCP server for the agent, hosted by the runtime — outside the jail, where the
 * session token is — as Streamable HTTP on loopback. OpenCode (inside the jail, same network)
 * is given its URL as a remote MCP server; the path is random, so only who reads OpenCode's
 * config can call it, and what it can do is what the agent's tools can do anyway. Stateless:
 * each request gets a fresh server and transport (the SDK's stateless pattern).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

/** A tool call's JSON-RPC body; far above any prompt the tools accept. */
const BODY_MAX = 256_000;

export interface ToolHost {
  /** What OpenCode is given (`type: "remote"`); a capability: keep it out of logs. */
  url: string;
  close(): Promise<void>;
}

export async function startToolHost(
  name: string,
  register: (server: McpServer) => void,
  log: (line: string) => void = () => undefined,
): Promise<ToolHost> {
  const path = `/mcp/${randomBytes(24).toString("base64url")}`;
  const http = createServer((req, res) => {
    if (req.url !== path) return void res.writeHead(404).end();
    if (req.method !== "POST") return void res.writeHead(405, { allow: "POST" }).end();
    void (async () => {
      const body = await readJson(req);
      if (body === undefined) return void res.writeHead(400).end();
      const server = new McpServer({ name, version: "1.0.0" });
      register(server);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((error: Error) => {
      log(`${name} tools: ${error.message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

/** The body as JSON, at most BODY_MAX bytes; undefined when it is larger or not JSON. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_MAX) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}
