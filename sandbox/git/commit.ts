/** End of a turn in git: commit everything as the prompting user, push the session branch. */
import type { Redactor } from "../redact.js";
import { backoff, logRetries, withRetry } from "../retry.js";
import { identityEnv, type GitIdentity } from "./author.js";
import { isNonFastForward, syncWithRemote, SyncConflictError, type Synced } from "./sync.js";
import type { Jail } from "../jail/jail.js";
import { git, GitError, type GitAuth } from "./run.js";
import { pushThroughStaging } from "./xfer.js";

export interface CommitResult {
  sha: string;
  message: string;
  files: number;
}

/** Commit all changes in the checkout; null when the turn changed nothing. */
export async function commitAll(opts: {
  dir: string;
  jail?: Jail | null;
  author: GitIdentity;
  committer: GitIdentity;
  message: string;
  redact?: Redactor;
}): Promise<CommitResult | null> {
  const g = (args: string[], env?: Record<string, string>) =>
    git(args, { cwd: opts.dir, env, jail: opts.jail, redact: opts.redact });
  await g(["add", "--all"]);
  const staged = (await g(["diff", "--cached", "--name-only", "-z"])).split("\0").filter(Boolean);
  if (staged.length === 0) return null;
  // --no-verify: the repository's hooks are not ours to run unattended; signing needs keys we lack.
  await g(
    ["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", opts.message],
    identityEnv(opts.author, opts.committer),
  );
  const sha = (await g(["rev-parse", "HEAD"])).trim();
  return { sha, message: opts.message.trim(), files: staged.length };
}

/** Throw away uncommitted edits (a stopped turn's half-done work must not ride along in the next commit). */
export async function discardChanges(dir: string, jail?: Jail | null, ownJail = false): Promise<void> {
  await git(["reset", "--hard", "--quiet"], { cwd: dir, jail, ownJail });
  await git(["clean", "-fdq"], { cwd: dir, jail, ownJail });
}

class PushRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushRejectedError";
  }
}

/**
 * Push HEAD to the session branch. If the branch moved on meanwhile, the turn's commits are put
 * on top first (see sync.ts) and the push made again; `synced` says how.
 */
export async function pushBranch(opts: {
  dir: string;
  jail: Jail;
  /** Where to push: the session's clone URL (never the checkout's own remote config). */
  url: string;
  branch: string;
  auth: GitAuth | null;
  /** Who rebased or merged commits are committed as (the bot). */
  committer: GitIdentity;
  redact?: Redactor;
  attempts?: number;
  retryDelayMs?: number;
  /** Where a retry is told (default stderr). */
  log?: (line: string) => void;
}): Promise<{ sha: string; synced?: Synced }> {
  const head = async () => {
    const sha = (await git(["rev-parse", "--verify", "HEAD^{commit}"], { cwd: opts.dir, jail: opts.jail })).trim();
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new PushRejectedError(`Pushing ${opts.branch} failed: HEAD is not a commit`);
    return sha;
  };
  const push = (sha: string) =>
    withRetry(
      () =>
        pushThroughStaging({
          jail: opts.jail,
          dir: opts.dir,
          url: opts.url,
          auth: opts.auth,
          sha,
          branch: opts.branch,
          redact: opts.redact,
        }),
      {
        attempts: opts.attempts ?? 3,
        delayMs: backoff(opts.retryDelayMs ?? 1_000),
        retryable: (e) => e instanceof GitError && e.transient,
        onRetry: logRetries(opts.attempts ?? 3, opts.log),
      },
    );
  const rejected = (error: unknown) => {
    if (error instanceof SyncConflictError) return new PushRejectedError(error.message);
    const detail = error instanceof GitError ? error.stderr || error.message : String(error);
    return new PushRejectedError(`Pushing ${opts.branch} failed: ${detail.slice(-2_000)}`);
  };
  const sha = await head();
  try {
    await push(sha);
    return { sha };
  } catch (error) {
    if (!isNonFastForward(error)) throw rejected(error);
    opts.log?.(`${opts.branch} moved on while the turn ran; putting this turn's commits on top`);
  }
  try {
    const synced = await syncWithRemote(opts);
    const merged = await head();
    await push(merged);
    return { sha: merged, synced };
  } catch (error) {
    throw rejected(error);
  }
}
