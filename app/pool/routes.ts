/** The pool's part of the runner API (protocol/runner-api.ts): a pooled runner's claim and its long-poll. */
import { Hono } from "hono";
import { z } from "zod";
import { apiError, bearer, jsonBody } from "../api/validate.js";
import { OidcError, type RunnerIdentity } from "../runner-api/oidc.js";
import { RunnerError } from "../runner-api/runner-service.js";
import { InspectId } from "../../protocol/ids.js";
import { PoolClaimRequest } from "../../protocol/runner-api.js";
import type { PoolService } from "./pool-service.js";

const slotId = InspectId;

/** `verifyOidc`: set when runners authenticate with Actions OIDC (as for a session's claim); otherwise claim tokens. */
export function poolRoutes(pool: PoolService, verifyOidc: ((token: string) => Promise<RunnerIdentity>) | null): Hono {
  const api = new Hono();

  api.onError((err, c) => {
    if (err instanceof RunnerError) return c.json({ error: err.message }, err.status);
    if (err instanceof OidcError) return c.json({ error: err.message }, 401);
    throw err;
  });

  api.post("/claim", async (c) => {
    const token = bearer(c);
    const body = await jsonBody(c, PoolClaimRequest);
    if (!token) throw apiError(401, "missing bearer token");
    const auth = verifyOidc ? { oidc: await verifyOidc(token) } : { claimToken: token };
    return c.json(await pool.claim(body.slotId, auth));
  });

  api.get("/:slot/next", async (c) => {
    const id = slotId.safeParse(c.req.param("slot"));
    if (!id.success) throw apiError(400, "invalid slot id");
    const token = bearer(c);
    if (!token) throw apiError(401, "missing bearer token");
    await pool.authenticate(id.data, token);
    const wait = z.coerce
      .number()
      .min(0)
      .max(55)
      .default(25)
      .safeParse(c.req.query("wait") ?? undefined);
    if (!wait.success) throw apiError(400, "wait must be a number of seconds from 0 to 55");
    const ready = c.req.query("ready") === "1";
    return c.json(await pool.next(id.data, ready, wait.data * 1000, c.req.raw.signal));
  });

  return api;
}
