/**
 * Who is looking, and what they may see. The GitHub-backed policy (OAuth
 * sign-in, repository read checks with the viewer's own token) lives in
 * app/auth (GitHubAccess), which also serves local mode: one local user,
 * reachable from loopback only.
 */
import type { Context } from "hono";
import type { RepositoryRow } from "../db/accounts.js";

/** Who is looking: one definition, the web's (app/ may import web/, not the other way). */
export type { Viewer } from "../../web/deps.js";
import type { Viewer } from "../../web/deps.js";

/** What the policy looks at in a repository (a row, or the web's view of one). */
export type RepositoryRef = Pick<RepositoryRow, "fullName" | "localPath">;

export interface AccessPolicy {
  /** The signed-in viewer, or null (→ 401 / sign-in redirect). */
  viewer(c: Context): Promise<Viewer | null>;
  /** May see the repository's sessions (page, API and events, room token, list, stats). */
  canRead(viewer: Viewer, repo: RepositoryRef): Promise<boolean>;
  canWrite(viewer: Viewer, repo: RepositoryRef): Promise<boolean>;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return (
    address === "::1" ||
    address.startsWith("127.") ||
    address === "::ffff:127.0.0.1" ||
    address.startsWith("::ffff:127.")
  );
}

export const LOCAL_VIEWER: Viewer = { login: "local", id: null, avatarUrl: null, token: null, local: true };
