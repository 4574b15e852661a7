/**
 * Prepare the working checkout for a session: restore or clone, fetch, and check out the
 * session branch — the existing head branch (PR threads, later runs) or a new branch from
 * the base. The control plane names the branch; this only checks it out.
 */
import { existsSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { SessionSpec } from "../../protocol/runner-api.js";
import { execLine } from "../jail/exec.js";
import { noJail, type Jail } from "../jail/jail.js";
import { backoff, logRetries, withRetry } from "../retry.js";
import type { Redactor } from "../redact.js";
import { git, GitError, httpsOrigin, type GitAuth } from "./run.js";
import { cacheKeyTime, restoreFromActionsCache, restoreSnapshot, snapshotPath } from "./snapshot.js";
import { cleanGitConfig, fetchThroughStaging, REBUILD_GIT_DIR } from "./xfer.js";

export interface CheckoutOptions {
  spec: SessionSpec;
  dir: string;
  /** Where the session's git runs (and who owns the checkout); default: no jail, staging beside `dir`. */
  jail?: Jail;
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
  jail: Jail;
}

function gitAuthFor(spec: SessionSpec): GitAuth | null {
  const origin = httpsOrigin(spec.cloneUrl);
  return spec.gitToken && origin ? { origin, token: spec.gitToken } : null;
}

const transient = (error: unknown) => error instanceof GitError && error.transient;

/**
 * With the remote branches fetched, put the checkout on the session's branch: the existing head
 * branch, or a new one from the base. Returns the head's sha.
 */
export async function checkoutSessionBranch(
  g: (args: string[]) => Promise<string>,
  spec: Pick<SessionSpec, "headExists" | "headBranch" | "baseBranch">,
): Promise<string> {
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
  return (await g(["rev-parse", "HEAD"])).trim();
}

export async function prepareCheckout(options: CheckoutOptions): Promise<Checkout> {
  const { spec, dir, redact } = options;
  const jail = options.jail ?? noJail(`${dir}.session`);
  const auth = gitAuthFor(spec);
  const attempts = options.retries ?? 3;
  const retry = { attempts, delayMs: backoff(500), retryable: transient, onRetry: logRetries(attempts, options.log) };
  const g = (args: string[]) => git(args, { cwd: dir, jail, redact, timeoutMs: 10 * 60_000 });

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
    // A new repository of our own making: nothing in it yet that git would obey.
    await withRetry(async () => {
      rmSync(dir, { recursive: true, force: true });
      await git(["clone", "--quiet", "--no-checkout", spec.cloneUrl, dir], {
        cwd: path.dirname(dir),
        jail,
        auth,
        redact,
        timeoutMs: 10 * 60_000,
      });
    }, retry);
  } else {
    // A restored tree was a previous session's to write: its hooks, config and alternates go.
    if (jail.user && statSync(dir).uid !== jail.user.uid) jail.own(dir);
    const rebuilt = await execLine(
      jail.session("sh", ["-c", REBUILD_GIT_DIR, "sh", cleanGitConfig(spec.cloneUrl)], dir),
      jail.env(),
    );
    if (rebuilt.code !== 0)
      throw new Error(
        `the restored checkout's git directory could not be reset: ${redact(rebuilt.output.trim()).slice(-500)}`,
      );
    const refs = [{ branch: spec.baseBranch, into: `refs/remotes/origin/${spec.baseBranch}` }];
    if (spec.headExists) refs.push({ branch: spec.headBranch, into: `refs/remotes/origin/${spec.headBranch}` });
    // What the checkout last had of the branches fetched: enough for a small fetch, one jail each.
    const haves = (await g(["for-each-ref", "--format=%(objectname)", ...refs.map((r) => r.into)]).catch(() => ""))
      .split("\n")
      .filter(Boolean);
    await withRetry(() => fetchThroughStaging({ jail, dir, url: spec.cloneUrl, auth, refs, haves, redact }), retry);
  }

  const sha = await checkoutSessionBranch(g, spec);
  if (!existsSync(dir)) throw new Error("checkout vanished");
  return { dir, source, ...(source === "cache" ? { cachedAt } : {}), sha, auth, jail };
}
