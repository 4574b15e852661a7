/**
 * A scripted OpenAI-compatible model server for tests (loopback, random port).
 *
 * OpenCode (or anything speaking `POST /chat/completions` with `stream: true`)
 * is pointed at `server.baseURL`. Each request that offers `tools` is one agent
 * step and consumes the next scripted step; requests without `tools` (OpenCode's
 * title generation, which runs concurrently with the first turn) get a short
 * title and never consume a step; a request asking for structured output
 * (`response_format`, e.g. the ai SDK's `Output.object`) does consume one. A
 * step request without `stream: true` gets one JSON completion instead of a stream.
 * When the script runs out, steps answer `fallbackText` so a turn always ends.
 *
 * ```ts
 * const model = await startModelServer([
 *   toolStep({ name: "write", args: { filePath: "hello.txt", content: "hi\n" } }),
 *   textStep("Wrote hello.txt"),
 * ]);
 * const provider = model.opencodeProvider(); // { scripted: {...} } for OpenCode's `provider` config
 * ...
 * await model.close();
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedToolCall {
  name: string;
  /** Tool arguments: an object (JSON-encoded for you) or a raw JSON string. */
  args: Record<string, unknown> | string;
}

export type ModelStep =
  /** Stream assistant text, then finish with "stop". */
  | { kind: "text"; text: string }
  /** Stream optional text and one or more tool calls, then finish with "tool_calls". */
  | { kind: "tools"; calls: ScriptedToolCall[]; text?: string }
  /** Answer with an HTTP error (e.g. 400 fails fast in OpenCode, 5xx is retried). */
  | { kind: "error"; status: number; message: string }
  /** Hold the request open (after an optional first chunk) until `release()`; then play `then`. */
  | { kind: "hang"; then?: ModelStep }
  /** Answer `then` only after `ms`: a call still in flight when the client gives up is never answered. */
  | { kind: "delay"; ms: number; then: ModelStep };

export const textStep = (text: string): ModelStep => ({ kind: "text", text });
export const toolStep = (...calls: ScriptedToolCall[]): ModelStep => ({ kind: "tools", calls });
export const errorStep = (status: number, message = "scripted error"): ModelStep => ({
  kind: "error",
  status,
  message,
});
export const hangStep = (then?: ModelStep): ModelStep => ({ kind: "hang", then });
export const delayStep = (ms: number, then: ModelStep): ModelStep => ({ kind: "delay", ms, then });

export interface RecordedRequest {
  at: number;
  path: string;
  /** True when the request offered tools or asked for structured output, i.e. it consumed a scripted step. */
  isStep: boolean;
  body: any;
}

export interface ModelServer {
  /** e.g. http://127.0.0.1:PORT/v1 — use as the provider's baseURL. */
  baseURL: string;
  /** Every request, in arrival order (title requests included). */
  requests: RecordedRequest[];
  /** Only the requests that consumed (or would have consumed) a step. */
  readonly stepRequests: RecordedRequest[];
  /** Append steps to the script. */
  push(...steps: ModelStep[]): void;
  /** Start over: replace the remaining script and forget the recorded requests. */
  reset(steps?: ModelStep[]): void;
  /** Steps not yet played. */
  readonly remaining: number;
  /** Let every hanging request continue. */
  release(): void;
  /** Resolve once `count` step requests have arrived (rejects after `timeoutMs`). */
  waitForStepRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /**
   * A provider entry for OpenCode's config: `{ [id]: {...} }` with one model `id`/`model`;
   * `cost` (USD per million tokens, OpenCode's `cost` field) prices it, absent it is unpriced.
   */
  opencodeProvider(id?: string, model?: string, cost?: ModelCost): Record<string, unknown>;
  close(): Promise<void>;
}

/** OpenCode's model pricing: USD per million tokens. */
export interface ModelCost {
  input: number;
  output: number;
  cache_read?: number;
  cache_write?: number;
}

export interface ModelServerOptions {
  /** Text for steps requested after the script ran out. */
  fallbackText?: string;
}

export async function startModelServer(
  steps: ModelStep[] = [],
  options: ModelServerOptions = {},
): Promise<ModelServer> {
  const script = [...steps];
  const requests: RecordedRequest[] = [];
  const hanging = new Set<() => void>();
  const waiters = new Set<() => void>();
  const open = new Set<ServerResponse>();
  const fallbackText = options.fallbackText ?? "Done.";

  const server = createServer(async (req, res) => {
    open.add(res);
    res.on("close", () => open.delete(res));
    try {
      await handle(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    }
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path.endsWith("/models")) {
      return json(res, 200, { object: "list", data: [{ id: "scripted-model", object: "model" }] });
    }
    if (req.method !== "POST" || !path.endsWith("/chat/completions"))
      return json(res, 404, { error: { message: "not found" } });
    let body: any;
    try {
      body = JSON.parse(raw || "{}");
    } catch {
      return json(res, 400, { error: { message: "invalid JSON" } });
    }
    const isStep = (Array.isArray(body.tools) && body.tools.length > 0) || body.response_format !== undefined;
    const record: RecordedRequest = { at: Date.now(), path, isStep, body };
    requests.push(record);
    for (const wake of waiters) wake();
    const step: ModelStep = isStep
      ? (script.shift() ?? { kind: "text", text: fallbackText })
      : textStep("Scripted session");
    if (isStep && body.stream !== true && step.kind === "text") return completion(res, body, step.text);
    return play(res, body, step);
  }

  async function play(res: ServerResponse, body: any, step: ModelStep): Promise<void> {
    if (step.kind === "delay") {
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), step.ms);
        res.on("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (closed || res.writableEnded || res.destroyed) return;
      return play(res, body, step.then);
    }
    if (step.kind === "error") {
      return json(res, step.status, { error: { message: step.message, type: "scripted_error", code: step.status } });
    }
    if (step.kind === "hang") {
      // Send headers and a role chunk so the client is committed to the stream, then wait.
      const stream = startStream(res, body);
      stream.chunk({ role: "assistant", content: "" }, null);
      const released = await new Promise<boolean>((resolve) => {
        const go = () => resolve(true);
        hanging.add(go);
        res.on("close", () => {
          hanging.delete(go);
          resolve(false);
        });
      });
      if (!released || res.writableEnded || res.destroyed) return;
      return finishStream(stream, step.then ?? { kind: "text", text: fallbackText });
    }
    return finishStream(startStream(res, body), step);
  }

  function finishStream(stream: Stream, step: ModelStep) {
    if (step.kind === "error" || step.kind === "hang" || step.kind === "delay") {
      stream.chunk({ content: `[cannot nest ${step.kind} in a stream]` }, null);
      return stream.end("stop");
    }
    const text = step.kind === "text" ? step.text : step.text;
    if (text) {
      // Several deltas, so streaming consumers see more than one piece.
      for (const piece of splitText(text)) stream.chunk({ content: piece }, null);
    }
    if (step.kind === "tools") {
      step.calls.forEach((call, index) => {
        const id = `call_${Math.random().toString(36).slice(2, 10)}`;
        const args = typeof call.args === "string" ? call.args : JSON.stringify(call.args);
        stream.chunk(
          { tool_calls: [{ index, id, type: "function", function: { name: call.name, arguments: "" } }] },
          null,
        );
        stream.chunk({ tool_calls: [{ index, function: { arguments: args } }] }, null);
      });
      return stream.end("tool_calls");
    }
    return stream.end("stop");
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const baseURL = `http://127.0.0.1:${port}/v1`;

  return {
    baseURL,
    requests,
    get stepRequests() {
      return requests.filter((r) => r.isStep);
    },
    push: (...more) => void script.push(...more),
    reset(next = []) {
      script.splice(0, script.length, ...next);
      requests.splice(0, requests.length);
    },
    get remaining() {
      return script.length;
    },
    release() {
      for (const go of [...hanging]) go();
      hanging.clear();
    },
    waitForStepRequests(count, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const steps = requests.filter((r) => r.isStep);
          if (steps.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(steps);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `expected ${count} step requests, got ${requests.filter((r) => r.isStep).length} within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    opencodeProvider(id = "scripted", model = "scripted-model", cost?: ModelCost) {
      return {
        [id]: {
          npm: "@ai-sdk/openai-compatible",
          name: "Scripted test model",
          options: { baseURL, apiKey: "test-key" },
          models: {
            [model]: {
              name: model,
              tool_call: true,
              limit: { context: 128_000, output: 8_000 },
              ...(cost ? { cost } : {}),
            },
          },
        },
      };
    },
    async close() {
      for (const go of [...hanging]) go();
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Stream {
  chunk(delta: Record<string, unknown>, finish: string | null): void;
  end(finish: string): void;
}

function startStream(res: ServerResponse, body: any): Stream {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = typeof body.model === "string" ? body.model : "scripted-model";
  const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  return {
    chunk(delta, finish) {
      send({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
    },
    end(finish) {
      send({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta: {}, finish_reason: finish }],
      });
      send({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [],
        usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
      });
      res.end("data: [DONE]\n\n");
    },
  };
}

/** A whole (non-streamed) chat completion. */
function completion(res: ServerResponse, body: any, text: string) {
  json(res, 200, {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: typeof body.model === "string" ? body.model : "scripted-model",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
  });
}

function splitText(text: string): string[] {
  const words = text.split(/(?<=\s)/);
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += 3) pieces.push(words.slice(i, i + 3).join(""));
  return pieces;
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (data += c));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}
