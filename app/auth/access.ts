/**
 * The GitHub-backed access policy: who is looking (the sign-in cookie) and what
 * they may see (GitHub says so, asked with their own token, cached for a minute).
 * Without OAuth configured it falls back to local mode: the one local user, only
 * for requests made on this machine.
 *
 * A session's log holds setup output and tool results a maintainer would not
 * necessarily publish, so on a public repository (which everyone can read) only its
 * collaborators see sessions unless INSPECT_PUBLIC_SESSIONS=everyone: see canRead.
 */
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { LOCAL_VIEWER, isLoopback, type AccessPolicy, type RepositoryRef, type Viewer } from "../api/access.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { users } from "../db/schema.js";
import { readSessionCookie } from "./cookies.js";
import { openToken } from "./crypto.js";
import { NO_PERMISSIONS, fetchRepoPermissions, type Permissions } from "../github/user-api.js";

export interface GitHubAccessOptions {
  config: Pick<Config, "oauth" | "github" | "publicSessions">;
  db: Db;
  secret: string;
  /** The socket's remote address (getConnInfo in the server). */
  remoteAddress: (c: Context) => string | undefined;
  fetch?: typeof fetch;
  cacheMs?: number;
  log?: (message: string) => void;
}

const CACHE_LIMIT = 10_000;

export class GitHubAccess implements AccessPolicy {
  private readonly cache = new Map<string, { perms: Permissions; expires: number }>();

  constructor(private readonly opts: GitHubAccessOptions) {}

  async viewer(c: Context): Promise<Viewer | null> {
    if (!this.opts.config.oauth) return isLocalRequest(c, this.opts.remoteAddress) ? LOCAL_VIEWER : null;
    const session = await readSessionCookie(c, this.opts.secret);
    if (!session) return null;
    const [user] = await this.opts.db.select().from(users).where(eq(users.id, session.userId));
    if (!user?.oauthToken) return null; // signed out, or the token was revoked server-side
    const token = openToken(this.opts.secret, user.oauthToken);
    if (!token) return null; // sealed with another secret: sign in again
    return { login: user.login, id: user.githubId ?? null, avatarUrl: user.avatarUrl ?? null, token, local: false };
  }

  /**
   * May this viewer see the repository's sessions? Private and internal repositories:
   * whoever can read them. Public ones: collaborators, i.e. GitHub reports triage,
   * write, maintain or admin for the viewer (a role the maintainers granted; pull alone
   * is everyone's), or every reader with INSPECT_PUBLIC_SESSIONS=everyone.
   */
  async canRead(viewer: Viewer, repo: RepositoryRef): Promise<boolean> {
    const perms = await this.permissions(viewer, repo);
    if (!perms.pull) return false;
    return !perms.public || perms.collaborator || this.opts.config.publicSessions === "everyone";
  }

  async canWrite(viewer: Viewer, repo: RepositoryRef): Promise<boolean> {
    return (await this.permissions(viewer, repo)).push;
  }

  private async permissions(viewer: Viewer, repo: RepositoryRef): Promise<Permissions> {
    const none = NO_PERMISSIONS;
    // Local repositories exist only on this machine: only the local user sees them.
    if (viewer.local || repo.localPath !== null)
      return viewer.local && repo.localPath !== null
        ? { pull: true, push: true, collaborator: true, public: false }
        : none;
    if (!viewer.token) return none;
    const key = `${viewer.login}\n${repo.fullName.toLowerCase()}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.perms;
    let perms: Permissions;
    try {
      perms = await fetchRepoPermissions(this.opts.config.github, viewer.token, repo.fullName, this.opts.fetch);
    } catch (err) {
      // GitHub being down says nothing about access: deny this time, do not cache.
      this.opts.log?.(`access check for ${viewer.login} on ${repo.fullName} failed: ${(err as Error).message}`);
      return none;
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { perms, expires: Date.now() + (this.opts.cacheMs ?? 60_000) });
    return perms;
  }
}

/**
 * Loopback socket, no proxy headers (a local reverse proxy would forward the world
 * from 127.0.0.1), and a local Host (so a DNS-rebound page cannot read local sessions).
 */
export function isLocalRequest(c: Context, remoteAddress: (c: Context) => string | undefined): boolean {
  let address: string | undefined;
  try {
    address = remoteAddress(c);
  } catch {
    return false; // no socket (e.g. an in-process request): not provably local
  }
  if (!isLoopback(address)) return false;
  if (c.req.header("x-forwarded-for") || c.req.header("forwarded") || c.req.header("x-real-ip")) return false;
  const host = (c.req.header("host") ?? "").replace(/:\d+$/, "").toLowerCase();
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host.endsWith(".localhost");
}
