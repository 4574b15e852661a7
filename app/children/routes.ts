/**
 * The runner API's child-session routes (protocol/children.ts), authenticated by the parent
 * session's runner token: only a live run of that session may spawn or steer its children.
 */
import { Hono, type Context, type Next } from "hono";
import { z } from "zod";
import { apiError, bearer, jsonBody } from "../api/validate.js";
import type { SessionRow } from "../db/sessions.js";
import { RunnerError, type RunnerService } from "../runner-api/runner-service.js";
import { ChildPromptRequest, SpawnChildRequest } from "../../protocol/children.js";
import { ChildRefusal, type ChildService } from "./child-service.js";
import { InspectId } from "../../protocol/ids.js";

type Env = { Variables: { parent: SessionRow } };

const id = InspectId;
const CHILD_BODY_MAX = 64_000;

export function childRoutes(
  children: ChildService,
  runners: RunnerService,
  getSession: (id: string) => Promise<SessionRow | undefined>,
): Hono<Env> {
  const api = new Hono<Env>();
  api.onError((err, c) => {
    if (err instanceof ChildRefusal || err instanceof RunnerError) return c.json({ error: err.message }, err.status);
    throw err;
  });

  api.use("/sessions/:id/children", authenticate);
  api.use("/sessions/:id/children/*", authenticate);
  async function authenticate(c: Context<Env>, next: Next) {
    const sessionId = id.safeParse(c.req.param("id"));
    if (!sessionId.success) throw apiError(400, "invalid session id");
    const token = bearer(c);
    if (!token) throw apiError(401, "missing bearer token");
    await runners.authenticate(sessionId.data, token);
    const parent = await getSession(sessionId.data);
    if (!parent) throw apiError(404, "no such session");
    c.set("parent", parent);
    await next();
  }
  const childId = (raw: string | undefined) => {
    const parsed = id.safeParse(raw);
    if (!parsed.success) throw apiError(400, "invalid child session id");
    return parsed.data;
  };

  api.post("/sessions/:id/children", async (c) => {
    const body = await jsonBody(c, SpawnChildRequest, CHILD_BODY_MAX);
    return c.json(await children.spawn(c.get("parent"), body));
  });
  api.get("/sessions/:id/children", async (c) => c.json({ children: await children.list(c.get("parent")) }));
  api.get("/sessions/:id/children/:child", async (c) =>
    c.json(await children.status(c.get("parent"), childId(c.req.param("child")))),
  );
  api.post("/sessions/:id/children/:child/prompts", async (c) => {
    const body = await jsonBody(c, ChildPromptRequest, CHILD_BODY_MAX);
    return c.json(await children.prompt(c.get("parent"), childId(c.req.param("child")), body.prompt));
  });
  api.post("/sessions/:id/children/:child/cancel", async (c) => {
    await jsonBody(c, z.object({}), 1_000);
    return c.json(await children.cancel(c.get("parent"), childId(c.req.param("child"))));
  });
  return api;
}
