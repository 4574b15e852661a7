/**
 * Prepare the working checkout for a session: restore or clone, fetch, and check out the
 * session branch — the existing head branch (PR threads, later runs) or a new branch from
 * the base. The control plane names the branch; this only checks it out.
 */
import { existsSync, rmSync } from "node:fs";
import type { SessionSpec } from "../../app/protocol/runner-api.js";
import { backoff, logRetries, withRetry } from "../retry.js";
import type { Redactor } from "../redact.js";
import { git, GitError, httpsOrigin, type GitAuth } from "./run.js";
import { cacheKeyTime, restoreFromActionsCache, restoreSnapshot, snapshotPath } from "./snapshot.js";

export interface CheckoutOptions {
  spec: SessionSpec;
  dir: string;
  snapshotRoot: string | null;
  redact: Redactor;
  /** Try the Actions cache (only meaningful on a GitHub runner). */
  useActionsCache?: boolean;
  retries?: number;
  /** The runtime's (redacting) log, for what the cache says. */
  log?: (line: string) => void;
}

export interface Checkout {
  dir: string;
  source: "snapshot" | "cache" | "clone";
  /** For a checkout from the Actions cache: when its entry was saved. */
  cachedAt?: number | null;
  sha: string;
  auth: GitAuth | null;
}

export function gitAuthFor(spec: SessionSpec): GitAuth | null {
  const origin = httpsOrigin(spec.cloneUrl);
  return spec.gitToken && origin ? { origin, token: spec.gitToken } : null;
}

const transient = (error: unknown) => error instanceof GitError && error.transient;

export async function prepareCheckout(options: CheckoutOptions): Promise<Checkout> {
  const { spec, dir, redact } = options;
  const auth = gitAuthFor(spec);
  const attempts = options.retries ?? 3;
  const retry = { attempts, delayMs: backoff(500), retryable: transient, onRetry: logRetries(attempts, options.log) };
  const g = (args: string[], cwd = dir) => git(args, { cwd, auth, redact, timeoutMs: 10 * 60_000 });

  let source: Checkout["source"] = "clone";
  let cachedAt: number | null = null;
  const snapshot = options.snapshotRoot ? snapshotPath(options.snapshotRoot, spec.repo.owner, spec.repo.name) : null;
  if (snapshot && (await restoreSnapshot(snapshot, dir).catch(() => false))) source = "snapshot";
  else if (options.useActionsCache) {
    const hit = await restoreFromActionsCache(dir, spec.repo.owner, spec.repo.name, { log: options.log });
    if (hit) {
      source = "cache";
      cachedAt = cacheKeyTime(hit, spec.repo.owner, spec.repo.name);
    }
  }

  if (source === "clone") {
    await withRetry(async () => {
      rmSync(dir, { recursive: true, force: true });
      await g(["clone", "--quiet", "--no-checkout", spec.cloneUrl, dir], process.cwd());
    }, retry);
  } else {
    // A restored tree may point at an old URL (or a token-bearing one from elsewhere).
    await g(["remote", "set-url", "origin", spec.cloneUrl]).catch(async () => g(["remote", "add", "origin", spec.cloneUrl]));
    const refs = [`+refs/heads/${spec.baseBranch}:refs/remotes/origin/${spec.baseBranch}`];
    if (spec.headExists) refs.push(`+refs/heads/${spec.headBranch}:refs/remotes/origin/${spec.headBranch}`);
    await withRetry(() => g(["fetch", "--quiet", "--prune", "--no-tags", "origin", ...refs]), retry);
  }

  const start = spec.headExists ? `origin/${spec.headBranch}` : `origin/${spec.baseBranch}`;
  try {
    await g(["rev-parse", "--verify", "--quiet", `${start}^{commit}`]);
  } catch {
    const which = spec.headExists ? `head branch ${spec.headBranch}` : `base branch ${spec.baseBranch}`;
    throw new Error(`The ${which} does not exist on the remote`);
  }
  // -f: a restored snapshot may have local edits; the session starts from the remote state.
  await g(["checkout", "--quiet", "-f", "-B", spec.headBranch, start]);
  // Untracked leftovers go, ignored files (installed dependencies) stay: that is the snapshot's worth.
  await g(["clean", "-fdq"]);
  const sha = (await g(["rev-parse", "HEAD"])).trim();
  if (!existsSync(dir)) throw new Error("checkout vanished");
  return { dir, source, ...(source === "cache" ? { cachedAt } : {}), sha, auth };
}
