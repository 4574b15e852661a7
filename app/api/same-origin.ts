/**
 * State-changing browser routes answer only their own pages. Local mode listens on loopback,
 * where any web page the developer visits can `fetch(..., {mode: "no-cors"})` it: such a
 * request carries a foreign `Origin` (or `Sec-Fetch-Site: cross-site`) and a form content type.
 * Clients that are not browsers (the CLI) send neither header and pass on their bearer/cookie.
 */
import type { MiddlewareHandler } from "hono";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function sameOriginWrites(publicUrl: string): MiddlewareHandler {
  const publicOrigin = new URL(publicUrl).origin;
  return async (c, next) => {
    if (!WRITES.has(c.req.method)) return next();
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    const own = new URL(c.req.url).origin;
    if ((site && site !== "same-origin" && site !== "none") || (origin && origin !== own && origin !== publicOrigin)) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      return c.json({ error: "cross-site request refused" }, 403);
    }
    // A browser's no-cors body always carries a form or text type; the page and the CLI send JSON.
    const type = c.req.header("content-type");
    if (type !== undefined && !/^application\/json\b/i.test(type)) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      return c.json({ error: "send JSON (content-type: application/json)" }, 415);
    }
    return next();
  };
}
