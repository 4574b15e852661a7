import type { GitHubGateway, Permission } from "./gateway.js";
import { BoundedMap } from "../util/bounded-map.js";

/** Who may make Inspect do anything: people who could push the change themselves. */
export function canTrigger(permission: Permission): boolean {
  return permission === "admin" || permission === "maintain" || permission === "write";
}

/**
 * Collaborator permissions, cached briefly: a burst of comments from one person
 * costs one API call, and a revoked permission takes effect within the TTL.
 */
export class PermissionCache {
  // Bounded: one entry per person and repository ever asked about would otherwise pile up.
  private readonly entries = new BoundedMap<string, { value: Promise<Permission>; expires: number }>(10_000);

  constructor(
    private readonly github: GitHubGateway,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(installationId: number, owner: string, repo: string, login: string): Promise<Permission> {
    const key = `${installationId}:${owner}/${repo}:${login}`.toLowerCase();
    const hit = this.entries.get(key);
    if (hit && hit.expires > this.now()) return hit.value;
    const value = this.github.permission(installationId, owner, repo, login);
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    // Errors are not cached; a late failure must not evict a fresher entry for the same key.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}
