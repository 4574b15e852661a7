/**
 * Sign-in and access, assembled: `createAuth(...)` gives the access policy for the
 * session API and the pages, the /auth routes, a `requireViewer` middleware and
 * `canReadRepo`.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Viewer } from "../api/access.js";
import type { RepositoryRow } from "../db/accounts.js";
import { GitHubAccess, type GitHubAccessOptions } from "./access.js";
import { authRoutes } from "./routes.js";

declare module "hono" {
  interface ContextVariableMap {
    viewer: Viewer;
  }
}

export type AuthOptions = GitHubAccessOptions & { config: GitHubAccessOptions["config"] & { publicUrl: string } };

export function createAuth(opts: AuthOptions) {
  const access = new GitHubAccess(opts);
  const routes = authRoutes({ config: opts.config, db: opts.db, secret: opts.secret, fetch: opts.fetch });

  /** Sets c.get("viewer"); otherwise 401 JSON for /api, a sign-in redirect for pages. */
  const requireViewer: MiddlewareHandler = async (c, next) => {
    const viewer = await access.viewer(c);
    if (!viewer) return unauthenticated(c, Boolean(opts.config.oauth));
    c.set("viewer", viewer);
    await next();
  };

  return {
    access,
    routes,
    requireViewer,
    canReadRepo: (viewer: Viewer, repo: RepositoryRow) => access.canRead(viewer, repo),
  };
}

function unauthenticated(c: Context, signInAvailable: boolean): Response {
  const wantsHtml = !c.req.path.startsWith("/api/") && (c.req.header("accept") ?? "").includes("text/html");
  if (wantsHtml && signInAvailable) return c.redirect(`/auth/login?returnTo=${encodeURIComponent(c.req.path)}`, 302);
  const error = signInAvailable
    ? "sign in first (GET /auth/login)"
    : "local mode: only requests from this machine (localhost) are served";
  return c.json({ error }, signInAvailable ? 401 : 403);
}
