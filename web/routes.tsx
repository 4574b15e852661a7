/**
 * The web: pages (server-rendered with Hono JSX), the browser scripts, the room
 * token endpoint and the warm-up hook. Every page and endpoint that shows a session
 * checks that the viewer can read its repository (403 otherwise).
 */
import { Hono, type Context } from "hono";
import { compress } from "hono/compress";
import { z } from "zod";
import { ROOM_PARTY, type RoomTokenResponse } from "../protocol/room.js";
import { signViewerToken } from "../protocol/viewer-token.js";
import { clientBundles } from "./assets.js";
import type { RepositoryView, SessionView, Viewer, WebDeps, WebLog } from "./deps.js";
import { ErrorPage } from "./layout.js";
import { repoWebUrl } from "./links.js";
import { NewSessionPage } from "./pages/new-session.js";
import { SessionListPage } from "./pages/session-list.js";
import { SessionPage } from "./pages/session.js";
import { statsApi, statsPage } from "./stats-routes.js";
import { css } from "./styles.js";

const consoleLog: WebLog = { warn: (obj, msg) => console.warn(msg ?? "", obj), debug() {} };

const SessionId = z.string().regex(/^[A-Za-z0-9]{4,64}$/);
const Warmup = z.object({ repo: z.string().trim().min(1).max(4_000) });

export function webRoutes(deps: WebDeps): Hono {
  const web = new Hono();
  const { read, access } = deps;
  const log = deps.log ?? consoleLog;

  /** The viewer for a page, or the response to send instead (sign-in or 403). */
  async function pageViewer(c: Context): Promise<Viewer | Response> {
    const viewer = await access.viewer(c);
    if (viewer) return viewer;
    // The query too: a stats link (window, repository, sort) survives signing in.
    const { pathname, search } = new URL(c.req.url);
    if (deps.oauth) return c.redirect(`/auth/login?returnTo=${encodeURIComponent(pathname + search)}`, 302);
    return c.html(
      <ErrorPage
        viewer={null}
        title="Local mode"
        message="Inspect runs in local mode (no GitHub sign-in configured): it serves this machine only. Open it on localhost."
      />,
      403,
    );
  }

  async function readable(viewer: Viewer, repos: RepositoryView[]): Promise<Set<number>> {
    const verdicts = await Promise.all(repos.map(async (r) => [r.id, await access.canRead(viewer, r)] as const));
    return new Set(verdicts.filter(([, ok]) => ok).map(([id]) => id));
  }

  /** The session and its repository if this viewer may read it; a status otherwise. */
  type Visible = { session: SessionView; repo: RepositoryView } | { status: 400 | 403 | 404; error: string };
  async function visibleSession(viewer: Viewer, id: string): Promise<Visible> {
    if (!SessionId.safeParse(id).success) return { status: 400 as const, error: "invalid session id" };
    const found = await read.session(id);
    if (!found) return { status: 404 as const, error: "session not found" };
    const { session, repo } = found;
    if (!(await access.canRead(viewer, repo)))
      return { status: 403 as const, error: "you cannot read this repository" };
    return { session, repo };
  }

  web.use("/assets/*", compress());
  web.get("/assets/app.css", (c) =>
    c.body(css, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" }),
  );
  web.get("/assets/:name{[a-z-]+\\.js}", async (c) => {
    const script = (await clientBundles()).get(c.req.param("name"));
    if (!script) return c.json({ error: "no such script" }, 404);
    return c.body(script, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" });
  });

  web.get("/", async (c) => {
    const viewer = await pageViewer(c);
    if (viewer instanceof Response) return viewer;
    const items = await read.recentSessions(200);
    const ok = await readable(viewer, [...new Map(items.map((i) => [i.repo.id, i.repo])).values()]);
    return c.html(
      <SessionListPage viewer={viewer} items={items.filter((i) => ok.has(i.repo.id))} webUrl={deps.githubWebUrl} />,
    );
  });

  web.get("/sessions/new", async (c) => {
    const viewer = await pageViewer(c);
    if (viewer instanceof Response) return viewer;
    const repos = await read.repositories();
    const ok = await readable(viewer, repos);
    const names = repos
      .filter((r) => ok.has(r.id))
      .map((r) => (viewer.local && r.localPath ? r.localPath : r.fullName));
    return c.html(<NewSessionPage viewer={viewer} repos={names} defaultModel={deps.defaultModel} />);
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
    const boot = {
      sessionId: session.id,
      status: session.status,
      viewer: { login: viewer.login, avatarUrl: viewer.avatarUrl },
      canWrite,
      roomAvailable: deps.rooms !== null,
      repoUrl: repoWebUrl(deps.githubWebUrl, repo),
    };
    return c.html(
      <SessionPage
        viewer={viewer}
        session={session}
        repo={repo}
        canWrite={canWrite}
        webUrl={deps.githubWebUrl}
        boot={boot}
      />,
    );
  });

  web.get("/stats", async (c) => {
    const viewer = await pageViewer(c);
    if (viewer instanceof Response) return viewer;
    return statsPage(c, deps, viewer, readable);
  });

  web.get("/api/stats", async (c) => {
    const viewer = await access.viewer(c);
    if (!viewer)
      return c.json(
        { error: deps.oauth ? "sign in first" : "local mode: only requests from this machine are served" },
        deps.oauth ? 401 : 403,
      );
    return statsApi(c, deps, viewer, readable);
  });

  web.get("/api/sessions/:id/room-token", async (c) => {
    const viewer = await access.viewer(c);
    if (!viewer)
      return c.json(
        { error: deps.oauth ? "sign in first" : "local mode: only requests from this machine are served" },
        deps.oauth ? 401 : 403,
      );
    const found = await visibleSession(viewer, c.req.param("id"));
    if ("error" in found) return c.json({ error: found.error }, found.status);
    if (!deps.rooms) return c.json({ error: "no room server is configured; poll /api/sessions/:id/events" }, 503);
    const { token, expiresAt } = await signViewerToken(deps.rooms.secret, {
      login: viewer.login,
      sessionId: found.session.id,
      avatarUrl: viewer.avatarUrl,
    });
    const body: RoomTokenResponse = {
      token,
      host: deps.rooms.url,
      party: ROOM_PARTY,
      room: found.session.id,
      expiresAt: expiresAt.toISOString(),
    };
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
    if (!body.success) return c.json({ error: 'expected {"repo": "owner/name" or a local path}' }, 400);
    if (!viewer.local) {
      const repo = await read.repositoryByFullName(body.data.repo);
      if (!repo || !(await access.canRead(viewer, repo)))
        return c.json({ error: "unknown repository, or you cannot read it" }, 404);
    }
    // Warm-up is best effort: the form works without it, so a failure is logged, not shown.
    // A refusal (no write access, app not installed, not a git repository) is expected, not a failure.
    const outcome = deps.warmup
      ? await deps.warmup(viewer, body.data.repo).catch((err: unknown) => {
          log.warn({ err, login: viewer.login, repo: body.data.repo }, "warm-up failed");
          return { warming: false };
        })
      : { warming: false };
    if ("refused" in outcome)
      log.debug({ login: viewer.login, repo: body.data.repo, reason: outcome.refused }, "warm-up refused");
    const warming = "warming" in outcome ? outcome.warming : false;
    return c.json({ warming }, 202);
  });

  return web;
}
