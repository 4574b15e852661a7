/** The session JSON API, for the web page, the CLI and tests. */
import { Hono } from "hono";
import { z } from "zod";
import type { Config } from "../config.js";
import { getRepository, upsertUser } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { listPrompts } from "../db/prompts.js";
import { listSessions } from "../db/sessions.js";
import { SessionStarter, StartError } from "../sessions/starter.js";
import { SessionClosedError, type SessionService } from "../sessions/service.js";
import { sessionUrl } from "../sessions/url.js";
import type { AccessPolicy, Viewer } from "./access.js";
import { apiError, jsonBody } from "./validate.js";
import { InspectId } from "../../protocol/ids.js";

export interface SessionApiDeps {
  db: Db;
  config: Config;
  sessions: SessionService;
  access: AccessPolicy;
  starter: SessionStarter;
}

const CreateSession = z.object({
  repo: z.string().min(1).max(4_000),
  prompt: z.string().trim().min(1).max(100_000),
  model: z
    .string()
    .regex(/^[\w.@-]+\/[\w.:@/-]+$/)
    .max(200)
    .nullable()
    .optional(),
});
const FollowUp = z.object({ text: z.string().trim().min(1).max(100_000) });
const SessionIdParam = InspectId;

type Env = { Variables: { viewer: Viewer } };

const EVENTS_PAGE_MAX = 1_000;
const EventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(EVENTS_PAGE_MAX).default(EVENTS_PAGE_MAX),
});

export function sessionApi(deps: SessionApiDeps): Hono<Env> {
  const api = new Hono<Env>();
  const { db, sessions, access } = deps;

  api.use("*", async (c, next) => {
    const viewer = await access.viewer(c);
    if (!viewer) throw apiError(401, "sign in first");
    c.set("viewer", viewer);
    await next();
  });

  /** The session, if this viewer may read its repository; 404 and 403 otherwise. */
  async function visible(id: string, viewer: Viewer, write = false) {
    if (!SessionIdParam.safeParse(id).success) throw apiError(400, "invalid session id");
    const session = await sessions.get(id);
    if (!session) throw apiError(404, "session not found");
    const repo = (await getRepository(db, session.repositoryId))!;
    const ok = write ? await access.canWrite(viewer, repo) : await access.canRead(viewer, repo);
    if (!ok)
      throw apiError(403, write ? "you need write access to this repository" : "you cannot read this repository");
    return { session, repo };
  }

  async function author(viewer: Viewer) {
    return upsertUser(db, { login: viewer.login, githubId: viewer.id, avatarUrl: viewer.avatarUrl });
  }

  api.get("/", async (c) => {
    const viewer = c.get("viewer");
    const rows = await listSessions(db, { limit: 200 });
    const out = [];
    const readable = new Map<number, string | null>();
    for (const s of rows) {
      if (!readable.has(s.repositoryId)) {
        const repo = (await getRepository(db, s.repositoryId))!;
        readable.set(s.repositoryId, (await access.canRead(viewer, repo)) ? repo.fullName : null);
      }
      const repo = readable.get(s.repositoryId);
      if (repo) out.push({ ...s, repo, url: sessionUrl(deps.config.publicUrl, s.id) });
    }
    return c.json({ sessions: out });
  });

  api.post("/", async (c) => {
    const body = await jsonBody(c, CreateSession);
    try {
      const client = c.req.header("x-inspect-client") === "cli" ? "cli" : "web";
      const session = await deps.starter.start(c.get("viewer"), body.repo, body.prompt, body.model ?? null, client);
      return c.json(
        { id: session.id, url: sessionUrl(deps.config.publicUrl, session.id), status: session.status },
        201,
      );
    } catch (err) {
      if (err instanceof StartError) throw apiError(err.status, err.message);
      throw err;
    }
  });

  api.get("/:id", async (c) => {
    const { session, repo } = await visible(c.req.param("id"), c.get("viewer"));
    const prompts = await listPrompts(db, session.id);
    return c.json({
      session: {
        ...session,
        repo: { owner: repo.owner, name: repo.name, fullName: repo.fullName },
        url: sessionUrl(deps.config.publicUrl, session.id),
      },
      prompts: prompts.map((p) => ({
        id: p.id,
        author: p.authorLogin,
        source: p.source,
        text: p.text,
        status: p.status,
        createdAt: p.createdAt,
        commits: p.commits ?? [],
        error: p.error,
      })),
    });
  });

  // Paged: `?after=<seq>&limit=<n>` (`since` is after's older name); `next` is the next page's `after`.
  api.get("/:id/events", async (c) => {
    const q = EventsQuery.safeParse({
      after: c.req.query("after") ?? c.req.query("since"),
      limit: c.req.query("limit"),
    });
    if (!q.success) throw apiError(400, `after (or since) must be a whole number, limit 1 to ${EVENTS_PAGE_MAX}`);
    const { session } = await visible(c.req.param("id"), c.get("viewer"));
    const events = await sessions.deps.events.list(session.id, q.data.after, q.data.limit);
    const next = events.length === q.data.limit ? events.at(-1)!.seq : null;
    return c.json({ events, lastSeq: session.lastSeq, next });
  });

  api.post("/:id/prompts", async (c) => {
    // Who may write comes first: someone without access learns nothing from a validation error.
    const viewer = c.get("viewer");
    const { session } = await visible(c.req.param("id"), viewer, true);
    const body = await jsonBody(c, FollowUp);
    try {
      const prompt = await sessions.queue(session.id, {
        author: await author(viewer),
        text: body.text,
        // This route is the session page's follow-up box (the CLI only starts sessions), local mode included.
        source: "web",
      });
      return c.json({ promptId: prompt.id }, 201);
    } catch (err) {
      if (err instanceof SessionClosedError) throw apiError(409, err.message);
      throw err;
    }
  });

  api.delete("/:id/prompts/:pid", async (c) => {
    const viewer = c.get("viewer");
    const { session } = await visible(c.req.param("id"), viewer, true);
    const pid = z.coerce.number().int().positive().safeParse(c.req.param("pid"));
    if (!pid.success) throw apiError(400, "invalid prompt id");
    const result = await sessions.cancelPrompt(session.id, pid.data, viewer.login);
    if (result === "not_found") throw apiError(404, "prompt not found");
    if (result === "forbidden") throw apiError(403, "only the prompt's author can cancel it");
    if (result === "not_queued") throw apiError(409, "the prompt is no longer queued");
    return c.json({ ok: true });
  });

  api.post("/:id/stop", async (c) => {
    const viewer = c.get("viewer");
    const { session } = await visible(c.req.param("id"), viewer, true);
    const stopped = await sessions.stop(session.id, viewer.login);
    if (!stopped) throw apiError(409, `session is ${session.status}; nothing to stop`);
    return c.json({ ok: true });
  });

  return api;
}
