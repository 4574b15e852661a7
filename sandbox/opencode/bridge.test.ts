import type { Event } from "@opencode-ai/sdk/v2";
import { describe, expect, it } from "vitest";
import { TurnBridge, describeError } from "./bridge.js";

/** The fixtures below are the slices of OpenCode's events the bridge reads, not whole events. */
class FixtureBridge extends TurnBridge {
  override handle(ev: object) {
    return super.handle(ev as Event);
  }
}

const S = "ses_1";
const dir = "/work/repo";
const msgUpdated = (info: Record<string, unknown>) => ({
  type: "message.updated",
  properties: { sessionID: S, info: { sessionID: S, ...info } },
});
const partUpdated = (part: Record<string, unknown>) => ({
  type: "message.part.updated",
  properties: { sessionID: S, part: { sessionID: S, ...part }, time: 1 },
});
const tool = (status: string, extra: Record<string, unknown> = {}) =>
  partUpdated({
    id: "prt_t",
    messageID: "msg_a",
    type: "tool",
    callID: "call_1",
    tool: "write",
    state: { status, input: { filePath: "a.txt", content: "x" }, ...extra },
  });

describe("OpenCode → session events", () => {
  it("streams assistant text as deltas, then the complete part, and ignores the user's own message and reasoning", () => {
    const b = new FixtureBridge(S, dir);
    expect(b.handle(msgUpdated({ id: "msg_u", role: "user" }))).toEqual([]);
    expect(
      b.handle(
        partUpdated({ id: "prt_u", messageID: "msg_u", type: "text", text: "do it", time: { start: 1, end: 2 } }),
      ),
    ).toEqual([]);
    expect(
      b.handle(
        msgUpdated({
          id: "msg_a",
          role: "assistant",
          tokens: { input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } },
          cost: 0,
        }),
      ),
    ).toEqual([]);
    b.handle(partUpdated({ id: "prt_r", messageID: "msg_a", type: "reasoning", text: "", time: { start: 1 } }));
    expect(
      b.handle({
        type: "message.part.delta",
        properties: { sessionID: S, messageID: "msg_a", partID: "prt_r", field: "text", delta: "hmm" },
      }),
    ).toEqual([]);
    b.handle(partUpdated({ id: "prt_x", messageID: "msg_a", type: "text", text: "", time: { start: 1 } }));
    expect(
      b.handle({
        type: "message.part.delta",
        properties: { sessionID: S, messageID: "msg_a", partID: "prt_x", field: "text", delta: "Hel" },
      }),
    ).toEqual([{ type: "agent.text.delta", data: { partId: "prt_x", delta: "Hel" } }]);
    const done = partUpdated({
      id: "prt_x",
      messageID: "msg_a",
      type: "text",
      text: "Hello",
      time: { start: 1, end: 2 },
    });
    expect(b.handle(done)).toEqual([{ type: "agent.text", data: { partId: "prt_x", text: "Hello" } }]);
    expect(b.handle(done)).toEqual([]);
    expect(b.outcome().summary).toBe("Hello");
  });

  it("reports each tool status once, with title, trimmed input and output", () => {
    const b = new FixtureBridge(S, dir);
    expect(b.handle(tool("pending", { input: {}, raw: "" }))).toEqual([
      { type: "tool.call", data: { callId: "call_1", tool: "write", status: "pending" } },
    ]);
    const running = b.handle(tool("running", { time: { start: 1 } }));
    expect(running).toEqual([
      {
        type: "tool.call",
        data: { callId: "call_1", tool: "write", status: "running", input: '{"filePath":"a.txt","content":"x"}' },
      },
    ]);
    expect(b.handle(tool("running", { metadata: { output: "more" } }))).toEqual([]);
    const completed = b.handle(
      tool("completed", { title: "a.txt", output: "y".repeat(10_000), metadata: {}, time: { start: 1, end: 2 } }),
    );
    expect(completed).toHaveLength(1);
    const data = (completed[0] as any).data;
    expect(data).toMatchObject({ status: "completed", title: "a.txt" });
    expect(data.output.length).toBeLessThanOrEqual(4_000);
    expect(data.output).toContain("characters trimmed");
    const failed = new FixtureBridge(S, dir).handle(
      tool("error", { error: "The user rejected permission", time: { start: 1, end: 2 } }),
    );
    expect((failed[0] as any).data).toMatchObject({ status: "error", error: "The user rejected permission" });
  });

  it("names edited files relative to the checkout, never outside it (their diffs come from turn-changes)", () => {
    const b = new FixtureBridge(S, dir);
    const edited = (file: string) => ({ type: "file.edited", properties: { file } }) as any;
    expect(b.editedFile(edited("/work/repo/src/a.ts"))).toBe("src/a.ts");
    expect(b.editedFile(edited("src/b.ts"))).toBe("src/b.ts");
    expect(b.editedFile(edited("/etc/hosts"))).toBeUndefined();
    expect(b.editedFile(edited("/work/repo"))).toBeUndefined();
    expect(b.handle(edited("/work/repo/src/a.ts"))).toEqual([]);
  });

  it("ignores other sessions' events", () => {
    const b = new FixtureBridge(S, dir);
    expect(
      b.handle({
        type: "message.part.updated",
        properties: {
          sessionID: "other",
          part: { id: "p", messageID: "m", type: "text", text: "x", time: { start: 1, end: 2 } },
        },
      }),
    ).toEqual([]);
  });

  it("turns a model error into one clear error event and remembers it", () => {
    const b = new FixtureBridge(S, dir);
    const error = {
      name: "APIError",
      data: { message: "Bad Request: no such model", statusCode: 400, isRetryable: false },
    };
    const out = b.handle({ type: "session.error", properties: { sessionID: S, error } });
    expect(out).toEqual([
      {
        type: "error",
        data: { message: "Model request failed (HTTP 400): Bad Request: no such model", code: "APIError" },
      },
    ]);
    // The same error also arrives on the assistant message: not repeated.
    expect(
      b.handle(
        msgUpdated({
          id: "msg_a",
          role: "assistant",
          tokens: { input: 1, output: 0, reasoning: 0, cache: { read: 0, write: 0 } },
          cost: 0,
          error,
        }),
      ),
    ).toEqual([]);
    expect(b.outcome()).toMatchObject({
      error: "Model request failed (HTTP 400): Bad Request: no such model",
      errorCode: "APIError",
    });
  });

  it("stays quiet about the abort it caused itself", () => {
    const b = new FixtureBridge(S, dir);
    b.stopping = true;
    expect(
      b.handle({
        type: "session.error",
        properties: { sessionID: S, error: { name: "MessageAbortedError", data: { message: "Aborted" } } },
      }),
    ).toEqual([]);
    expect(b.outcome().error).toBeUndefined();
  });

  it("sums token usage per assistant message, counting each message's latest update once", () => {
    const b = new FixtureBridge(S, dir);
    const tokens = (input: number, output: number) => ({ input, output, reasoning: 1, cache: { read: 10, write: 2 } });
    const m = { role: "assistant", providerID: "p", modelID: "m" };
    b.handle(msgUpdated({ id: "m1", ...m, tokens: tokens(0, 0), cost: 0 }));
    b.handle(msgUpdated({ id: "m1", ...m, tokens: tokens(100, 20), cost: 0.01 }));
    b.handle(msgUpdated({ id: "m2", ...m, tokens: tokens(200, 30), cost: 0.02 }));
    const usage = b.outcome().usage;
    expect(usage).toMatchObject({
      inputTokens: 300,
      outputTokens: 50,
      reasoningTokens: 2,
      cacheReadTokens: 20,
      cacheWriteTokens: 4,
      model: "p/m",
    });
    expect(usage.cost).toBeCloseTo(0.03);
  });

  it("leaves the cost out (unknown) when a call's model has no price, and counts 0 for a priced model as 0", () => {
    const b = new FixtureBridge(S, dir);
    const tokens = { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } };
    b.handle(msgUpdated({ id: "m1", role: "assistant", providerID: "free", modelID: "x", tokens, cost: 0 }));
    expect(b.outcome().usage.cost).toBeUndefined();
    expect(b.outcome().usage.inputTokens).toBe(10);
    b.usage.priced = new Set(["free/x"]);
    expect(b.outcome().usage.cost).toBe(0);
  });

  it("counts provider retries", () => {
    const b = new FixtureBridge(S, dir);
    b.handle({
      type: "session.status",
      properties: { sessionID: S, status: { type: "retry", attempt: 2, message: "overloaded", next: 0 } },
    });
    expect(b.outcome()).toMatchObject({ retryAttempts: 2, retryMessage: "overloaded" });
  });

  it("describes provider auth errors", () => {
    expect(describeError({ name: "ProviderAuthError", data: { providerID: "acme", message: "bad key" } })).toBe(
      "Model provider acme rejected the credentials: bad key",
    );
  });
});
