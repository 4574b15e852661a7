import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { sameOriginWrites } from "./same-origin.js";

const app = new Hono();
app.use("*", sameOriginWrites("https://inspect.test"));
app.all("*", (c) => c.json({ ok: true }));

const send = (init: RequestInit & { headers?: Record<string, string> }, url = "http://localhost:3000/api/sessions") =>
  app.request(url, init);

describe("sameOriginWrites", () => {
  it("lets the page's own JSON writes through, from the request's origin or the public URL", async () => {
    const json = { "content-type": "application/json" };
    expect(
      (
        await send({
          method: "POST",
          body: "{}",
          headers: { ...json, origin: "http://localhost:3000", "sec-fetch-site": "same-origin" },
        })
      ).status,
    ).toBe(200);
    expect(
      (await send({ method: "POST", body: "{}", headers: { ...json, origin: "https://inspect.test" } })).status,
    ).toBe(200);
  });

  it("lets clients that are not browsers through (no Origin, no Sec-Fetch-Site), reads always", async () => {
    expect((await send({ method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status).toBe(
      200,
    );
    expect((await send({ method: "DELETE" })).status).toBe(200);
    expect(
      (await send({ method: "GET", headers: { origin: "https://evil.test", "sec-fetch-site": "cross-site" } })).status,
    ).toBe(200);
  });

  it("refuses a cross-site write: a foreign Origin or Sec-Fetch-Site, whatever the body", async () => {
    expect(
      (
        await send({
          method: "POST",
          body: "{}",
          headers: { "content-type": "application/json", origin: "https://evil.test" },
        })
      ).status,
    ).toBe(403);
    expect((await send({ method: "POST", headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    expect(
      (
        await send({
          method: "DELETE",
          headers: { "sec-fetch-site": "same-site", origin: "http://other.localhost:3000" },
        })
      ).status,
    ).toBe(403);
  });

  it("refuses a body that is not JSON (what a no-cors form post can send)", async () => {
    const res = await send({ method: "POST", body: "prompt=rm -rf", headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ error: "send JSON (content-type: application/json)" });
  });
});
