/**
 * OpenCode does a second of lazy setup (provider plugins, model catalog, tool registry) on
 * the first prompt of its life, which would land on the user's first prompt. A throwaway
 * turn against a local stand-in model, run while the setup script runs, pays that cost
 * early: afterwards the first real prompt reaches the model in ~0.1 s instead of ~1.5 s.
 * The stand-in only ever answers "ok"; no tokens are spent and nothing leaves the machine.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import type { EventHub } from "./event-hub.js";

const WARMUP_PROVIDER = "inspect-warmup";
const WARMUP_MODEL = "warmup";

export interface WarmupModel {
  /** Provider entry to merge into OpenCode's `provider` config. */
  provider: Record<string, unknown>;
  close(): Promise<void>;
}

export async function startWarmupModel(): Promise<WarmupModel> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method !== "POST") {
        res.writeHead(404).end();
        return;
      }
      const chunk = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ id: "warmup", object: "chat.completion.chunk", created: 0, model: WARMUP_MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(chunk({ role: "assistant", content: "ok" }, null) + chunk({}, "stop") + "data: [DONE]\n\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    provider: {
      [WARMUP_PROVIDER]: {
        npm: "@ai-sdk/openai-compatible",
        name: "Inspect warm-up (local, answers ok)",
        options: { baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "none" },
        models: { [WARMUP_MODEL]: { name: WARMUP_MODEL, tool_call: true, limit: { context: 100_000, output: 1_000 } } },
      },
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // OpenCode keeps its connection alive; close() alone would wait for it forever.
        server.closeAllConnections();
      }),
  };
}

/** One throwaway turn in a scratch session; best effort, bounded, never throws. */
export async function warmUp(client: OpencodeClient, hub: EventHub, timeoutMs = 8_000): Promise<boolean> {
  try {
    const created = await client.session.create({ title: "Inspect warm-up" });
    const scratch = created.data?.id;
    if (!scratch) return false;
    let off = () => {};
    const idle = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      off = hub.on((ev) => {
        if (ev.type === "session.idle" && ev.properties?.sessionID === scratch) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    await client.session.promptAsync({
      sessionID: scratch,
      model: { providerID: WARMUP_PROVIDER, modelID: WARMUP_MODEL },
      parts: [{ type: "text", text: "Reply ok." }],
    });
    const ok = await idle;
    off();
    if (!ok) await client.session.abort({ sessionID: scratch }).catch(() => undefined);
    await client.session.delete({ sessionID: scratch }).catch(() => undefined);
    return ok;
  } catch {
    return false;
  }
}
