/**
 * When an idle sandbox should leave. Normally after the idle timeout; earlier if the git token
 * is about to expire, because the runner API has no way to renew it: exiting lets the next
 * follow-up start a fresh run (with a fresh token) instead of failing its push an hour in.
 */

/** Leave this much token lifetime for a turn that starts just before the deadline. */
export const TOKEN_MARGIN_MS = 10 * 60_000;

export function idleDeadline(lastActivity: number, idleTimeoutMs: number, gitTokenExpiresAt: string | null): number {
  const idle = lastActivity + idleTimeoutMs;
  const expires = gitTokenExpiresAt ? Date.parse(gitTokenExpiresAt) : NaN;
  return Number.isFinite(expires) ? Math.min(idle, expires - TOKEN_MARGIN_MS) : idle;
}
