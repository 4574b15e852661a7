/** The runner API (see protocol/runner-api.ts for the contract). */
import { Hono } from "hono";
import { z } from "zod";
import { apiError, bearer, jsonBody } from "../api/validate.js";
import type { RunRow } from "../db/runs.js";
import {
  AppendEventsRequest,
  ClaimRequest,
  ExitRequest,
  PromptDoneRequest,
  PushedRequest,
} from "../../protocol/runner-api.js";
import { InspectId } from "../../protocol/ids.js";
import { OidcError, type RunnerIdentity } from "./oidc.js";
import { RunnerError, type RunnerService } from "./runner-service.js";

export interface RunnerRoutesOptions {
  runners: RunnerService;
  /** Set when runners authenticate with Actions OIDC; otherwise claim tokens are used. */
  verifyOidc: ((token: string) => Promise<RunnerIdentity>) | null;
}

type Env = { Variables: { run: RunRow } };

const sessionId = InspectId;
/** The contract's heartbeat body is `{}` (an empty body counts as one); unknown keys are ignored for newer runners. */
const HeartbeatRequest = z.object({});

export function runnerRoutes({ runners, verifyOidc }: RunnerRoutesOptions): Hono<Env> {
  const api = new Hono<Env>();

  api.onError((err, c) => {
    if (err instanceof RunnerError) return c.json({ error: err.message }, err.status);
    if (err instanceof OidcError) return c.json({ error: err.message }, 401);
    throw err;
  });

  api.post("/claim", async (c) => {
    const token = bearer(c);
    const body = await jsonBody(c, ClaimRequest);
    if (!token) throw apiError(401, "missing bearer token");
    const auth = verifyOidc ? { oidc: await verifyOidc(token) } : { claimToken: token };
    return c.json(await runners.claim(body.sessionId, auth));
  });

  api.use("/sessions/:id/*", async (c, next) => {
    const id = sessionId.safeParse(c.req.param("id"));
    if (!id.success) throw apiError(400, "invalid session id");
    const token = bearer(c);
    if (!token) throw apiError(401, "missing bearer token");
    c.set("run", await runners.authenticate(id.data, token));
    await next();
  });

  api.get("/sessions/:id/next", async (c) => {
    const wait = z.coerce
      .number()
      .min(0)
      .max(55)
      .default(25)
      .safeParse(c.req.query("wait") ?? undefined);
    if (!wait.success) throw apiError(400, "wait must be a number of seconds from 0 to 55");
    const promptId = z.coerce.number().int().nonnegative().optional();
    const current = promptId.safeParse(c.req.query("current") ?? undefined);
    const seen = promptId.safeParse(c.req.query("seen") ?? undefined);
    if (!current.success || !seen.success) throw apiError(400, "current and seen must be prompt ids");
    // Runners from before these parameters say nothing of their state: nothing is reconciled for them.
    const reports = c.req.query("current") !== undefined || c.req.query("seen") !== undefined;
    const state = { current: current.data || null, seen: seen.data || null };
    return c.json(await runners.next(c.get("run"), wait.data * 1000, c.req.raw.signal, reports ? state : undefined));
  });

  api.post("/sessions/:id/events", async (c) => {
    const body = await jsonBody(c, AppendEventsRequest);
    return c.json({ lastSeq: await runners.appendEvents(c.get("run"), body.events) });
  });

  api.post("/sessions/:id/prompts/:pid/done", async (c) => {
    const pid = z.coerce.number().int().positive().safeParse(c.req.param("pid"));
    if (!pid.success) throw apiError(400, "invalid prompt id");
    const body = await jsonBody(c, PromptDoneRequest);
    await runners.promptDone(c.get("run"), pid.data, body);
    return c.json({ ok: true });
  });

  api.post("/sessions/:id/pushed", async (c) => {
    const body = await jsonBody(c, PushedRequest);
    await runners.pushed(c.get("run"), body);
    return c.json({ ok: true });
  });

  api.post("/sessions/:id/heartbeat", async (c) => {
    await jsonBody(c, HeartbeatRequest);
    await runners.heartbeat(c.get("run"));
    return c.json({ ok: true });
  });

  api.post("/sessions/:id/exit", async (c) => {
    const body = await jsonBody(c, ExitRequest);
    await runners.exit(c.get("run"), body.reason, body.error);
    return c.json({ ok: true });
  });

  return api;
}
