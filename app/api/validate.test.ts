import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { jsonBody } from "./validate.js";

const app = new Hono();
app.post("/", async (c) => c.json(await jsonBody(c, z.object({ text: z.string() }), 1_000)));

/** A body that streams `chunks` pieces of 400 bytes, counting how many were pulled. */
function streamed(chunks: number) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new TextEncoder().encode(pulled === 1 ? `{"text":"${"x".repeat(390)}` : "y".repeat(400)));
    },
  });
  return { body, pulled: () => pulled };
}

describe("jsonBody", () => {
  it("parses and validates a body within the limit", async () => {
    const res = await app.request("/", { method: "POST", body: JSON.stringify({ text: "hi" }) });
    expect(await res.json()).toEqual({ text: "hi" });
  });

  it("refuses a declared Content-Length over the limit with 413 before reading anything", async () => {
    const { body, pulled } = streamed(100);
    const res = await app.request("/", {
      method: "POST",
      body,
      headers: { "content-length": "40000" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(pulled()).toBeLessThanOrEqual(1);
  });

  it("stops reading a streamed body once it passes the limit (413), never buffering the rest", async () => {
    const { body, pulled } = streamed(1_000);
    const res = await app.request("/", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "body larger than 1000 bytes" });
    expect(pulled()).toBeLessThan(10);
  });

  it("answers 400 for what is not JSON or not the schema", async () => {
    expect((await app.request("/", { method: "POST", body: "{nope" })).status).toBe(400);
    expect((await app.request("/", { method: "POST", body: JSON.stringify({ text: 1 }) })).status).toBe(400);
  });
});
