/**
 * A pooled sandbox's checkout was prepared from the default branch minutes ago. When a session
 * takes it over, the base branch (and the session's branch, if it exists) are fetched with the
 * session's own token and the session's branch is checked out — so a prompt never works on a
 * stale main. Installed dependencies (ignored files) stay: that is the pool's worth. `checkout`
 * carries the session's git credentials; the new head's sha is returned.
 */
import type { SessionSpec } from "../protocol/runner-api.js";
import { checkoutSessionBranch, type Checkout } from "./git/checkout.js";
import { git, GitError } from "./git/run.js";
import { fetchThroughStaging } from "./git/xfer.js";
import type { Redactor } from "./redact.js";
import { backoff, logRetries, withRetry } from "./retry.js";

export async function syncPooledCheckout(
  checkout: Checkout,
  spec: SessionSpec,
  redact: Redactor,
  log: (line: string) => void,
): Promise<string> {
  const { dir, jail, auth } = checkout;
  const g = (args: string[]) => git(args, { cwd: dir, jail, redact, timeoutMs: 5 * 60_000 });
  const refs = [{ branch: spec.baseBranch, into: `refs/remotes/origin/${spec.baseBranch}` }];
  if (spec.headExists) refs.push({ branch: spec.headBranch, into: `refs/remotes/origin/${spec.headBranch}` });
  const haves = (await g(["for-each-ref", "--format=%(objectname)", ...refs.map((r) => r.into)]).catch(() => ""))
    .split("\n")
    .filter(Boolean);
  await withRetry(() => fetchThroughStaging({ jail, dir, url: spec.cloneUrl, auth, refs, haves, redact }), {
    attempts: 3,
    delayMs: backoff(500),
    retryable: (e) => e instanceof GitError && e.transient,
    onRetry: logRetries(3, log),
  });
  return checkoutSessionBranch(g, spec);
}
