/**
 * One cap on every route's request body, refused with 413 as soon as it is known — a larger
 * `Content-Length` at once, a stream as it passes the cap — before a handler reads anything:
 * no route, including ones that never read a body, can be made to buffer one. GitHub's webhooks
 * get GitHub's own 25 MB maximum; everything else 2 MB, the most any JSON body Inspect reads may
 * be (routes with smaller schemas cap lower themselves).
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";

const WEBHOOK_MAX_BYTES = 25 * 1024 * 1024;
const REQUEST_MAX_BYTES = 2_000_000;

export function bodyCap(webhookPath: string): MiddlewareHandler {
  const refuse = (max: number) =>
    bodyLimit({ maxSize: max, onError: (c) => c.json({ error: `request body over ${max} bytes` }, 413) });
  const webhooks = refuse(WEBHOOK_MAX_BYTES);
  const others = refuse(REQUEST_MAX_BYTES);
  return (c, next) => {
    const webhook = c.req.path === webhookPath;
    const max = webhook ? WEBHOOK_MAX_BYTES : REQUEST_MAX_BYTES;
    // Any method: a GET or DELETE declaring a body is refused too (the adapter hides such bodies
    // from bodyLimit, which only sees the streams it is given).
    if (Number(c.req.header("content-length") ?? 0) > max)
      return Promise.resolve(c.json({ error: `request body over ${max} bytes` }, 413));
    return webhook ? webhooks(c, next) : others(c, next);
  };
}
