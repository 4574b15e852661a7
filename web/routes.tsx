/**
 * The web: pages (server-rendered with Hono JSX), the browser scripts, the room
 * token endpoint and the warm-up hook. Every page and endpoint that shows a session
 * checks that the viewer can read its repository (403 otherwise).
 */
import { Hono, type Context } from "hono";
import { compress } from "hono/compress";
import { z } from "zod";
import type { AccessPolicy, Viewer } from "../app/api/access.js";
import type { Config } from "../app/config.js";
import { findRepositoryByFullName, getRepository, type RepositoryRow } from "../app/db/accounts.js";
import type { Db } from "../app/db/client.js";
import { getSession, type SessionRow } from "../app/db/sessions.js";
import { ROOM_PARTY, type RoomTokenResponse } from "../protocol/room.js";
import { signViewerToken } from "../protocol/viewer-token.js";
import { StartError } from "../app/sessions/starter.js";
import type { Logger } from "../app/util/tasks.js";
import { clientBundles } from "./assets.js";
import { ErrorPage } from "./layout.js";
import { allRepositories, recentSessions, sessionStats } from "./queries.js";
import { NewSessionPage } from "./pages/new-session.js";
import { SessionListPage } from "./pages/session-list.js";
import { SessionPage } from "./pages/session.js";
import { StatsPage } from "./pages/stats.js";
import { css } from "./styles.js";

export interface WebDeps {
  db: Db;
  config: Pick<Config, "oauth" | "github" | "model">;
  access: AccessPolicy;
  /** The room server (browser-facing URL and shared secret); null → pages poll the API. */
  rooms: { url: string; secret: string } | null;
  /** Start preparing a sandbox for `repo` while the user types; resolves whether it did. */
  warmup?: (viewer: Viewer, repo: string) => Promise<boolean>;
  /** Where failures the browser is not told about go (warm-up); the console when not given. */
  log?: Pick<Logger, "warn" | "debug">;
}

const consoleLog: Pick<Logger, "warn" | "debug"> = { warn: (obj, msg) => console.warn(msg ?? "", obj), debug() {} };

const SessionId = z.string().regex(/^[A-Za-z0-9]{4,64}$/);
const Warmup = z.object({ repo: z.string().trim().min(1).max(4_000) });

export function webRoutes(deps: WebDeps): Hono {
  const web = new Hono();
  const { db, access } = deps;
  const log = deps.log ?? consoleLog;

  /** The viewer for a page, or the response to send instead (sign-in or 403). */
  async function pageViewer(c: Context): Promise<Viewer | Response> {
    const viewer = await access.viewer(c);
    if (viewer) return viewer;
    if (deps.config.oauth) return c.redirect(`/auth/login?returnTo=${encodeURIComponent(c.req.path)}`, 302);
    return c.html(<ErrorPage viewer={null} title="Local mode" message="Inspect runs in local mode (no GitHub sign-in configured): it serves this machine only. Open it on localhost." />, 403);
  }

  async function readable(viewer: Viewer, repos: RepositoryRow[]): Promise<Set<number>> {
    const verdicts = await Promise.all(repos.map(async (r) => [r.id, await access.canRead(viewer, r)] as const));
    return new Set(verdicts.filter(([, ok]) => ok).map(([id]) => id));
  }

  /** The session and its repository if this viewer may read it; a status otherwise. */
  type Visible = { session: SessionRow; repo: RepositoryRow } | { status: 400 | 403 | 404; error: string };
  async function visibleSession(viewer: Viewer, id: string): Promise<Visible> {
    if (!SessionId.safeParse(id).success) return { status: 400 as const, error: "invalid session id" };
    const session = await getSession(db, id);
    if (!session) return { status: 404 as const, error: "session not found" };
    const repo = (await getRepository(db, session.repositoryId))!;
    if (!(await access.canRead(viewer, repo))) return { status: 403 as const, error: "you cannot read this repository" };
    return { session, repo };
  }

  web.use("/assets/*", compress());
  web.get("/assets/app.css", (c) => c.body(css, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" }));
  web.get("/assets/:name{[a-z-]+\\.js}", async (c) => {
    const script = (await clientBundles()).get(c.req.param("name"));
    if (!script) return c.json({ error: "no such script" }, 404);
    return c.body(script, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" });
  });

  web.get("/", async (c) => {
    const viewer = await pageViewer(c);
    if (viewer instanceof Response) return viewer;
    const items = await recentSessions(db, 200);
    const ok = await readable(viewer, [...new Map(items.map((i) => [i.repo.id, i.repo])).values()]);
    return c.html(<SessionListPage viewer={viewer} items={items.filter((i) => ok.has(i.repo.id))} webUrl={deps.config.github.webUrl} />);
  });

  web.get("/sessions/new", async (c) => {
    const viewer = await pageViewer(c);
    if (viewer instanceof Response) return viewer;
    const repos = await allRepositories(db);
    const ok = await readable(viewer, repos);
    const names = repos.filter((r) => ok.has(r.id)).map((r) => (viewer.local && r.localPath ? r.localPath : r.fullName));
    return c.html(<NewSessionPage viewer={viewer} repos={names} defaultModel={deps.config.model} />);
  });

  web.get("/sessions/:id", async (c) => {
    const viewer = await pageViewer(c);
    if (viewer instanceof Response) return viewer;
    const found = await visibleSession(viewer, c.req.param("id"));
    if ("error" in found) {
      const title = found.status === 403 ? "No access" : found.status === 404 ? "Not found" : "Bad request";
      return c.html(<ErrorPage viewer={viewer} title={title} message={found.error} />, found.status);
    }
    const { session, repo } = found;
    const canWrite = await access.canWrite(viewer, repo);
    const boot = { sessionId: session.id, status: session.status, viewer: { login: viewer.login, avatarUrl: viewer.avatarUrl }, canWrite, roomAvailable: deps.rooms !== null };
    return c.html(<SessionPage viewer={viewer} session={session} repo={repo} canWrite={canWrite} webUrl={deps.config.github.webUrl} boot={boot} />);
  });

  web.get("/stats", async (c) => {
    const viewer = await pageViewer(c);
    if (viewer instanceof Response) return viewer;
    const days = z.coerce.number().int().min(1).max(90).catch(14).parse(c.req.query("days") ?? 14);
    const ok = await readable(viewer, await allRepositories(db));
    return c.html(<StatsPage viewer={viewer} stats={await sessionStats(db, [...ok], days)} days={days} />);
  });

  web.get("/api/sessions/:id/room-token", async (c) => {
    const viewer = await access.viewer(c);
    if (!viewer) return c.json({ error: deps.config.oauth ? "sign in first" : "local mode: only requests from this machine are served" }, deps.config.oauth ? 401 : 403);
    const found = await visibleSession(viewer, c.req.param("id"));
    if ("error" in found) return c.json({ error: found.error }, found.status);
    if (!deps.rooms) return c.json({ error: "no room server is configured; poll /api/sessions/:id/events" }, 503);
    const { token, expiresAt } = await signViewerToken(deps.rooms.secret, { login: viewer.login, sessionId: found.session.id, avatarUrl: viewer.avatarUrl });
    const body: RoomTokenResponse = { token, host: deps.rooms.url, party: ROOM_PARTY, room: found.session.id, expiresAt: expiresAt.toISOString() };
    return c.json(body, 200, { "cache-control": "no-store" });
  });

  web.post("/api/warmup", async (c) => {
    const viewer = await access.viewer(c);
    if (!viewer) return c.json({ error: "sign in first" }, 401);
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return c.json({ error: "body is not valid JSON" }, 400);
    }
    const body = Warmup.safeParse(raw);
    if (!body.success) return c.json({ error: "expected {\"repo\": \"owner/name\" or a local path}" }, 400);
    if (!viewer.local) {
      const repo = await findRepositoryByFullName(db, body.data.repo);
      if (!repo || !(await access.canRead(viewer, repo))) return c.json({ error: "unknown repository, or you cannot read it" }, 404);
    }
    // Warm-up is best effort: the form works without it, so a failure is logged, not shown.
    // A refusal (no write access, app not installed, not a git repository) is expected, not a failure.
    const warming = deps.warmup
      ? await deps.warmup(viewer, body.data.repo).catch((err: unknown) => {
          if (err instanceof StartError) log.debug({ login: viewer.login, repo: body.data.repo, reason: err.message }, "warm-up refused");
          else log.warn({ err, login: viewer.login, repo: body.data.repo }, "warm-up failed");
          return false;
        })
      : false;
    return c.json({ warming }, 202);
  });

  return web;
}
