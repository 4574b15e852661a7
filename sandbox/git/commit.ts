/** End of a turn in git: commit everything as the prompting user, push the session branch. */
import type { Redactor } from "../redact.js";
import { backoff, logRetries, withRetry } from "../retry.js";
import { identityEnv, type GitIdentity } from "./author.js";
import { git, GitError, type GitAuth } from "./run.js";

export interface CommitResult {
  sha: string;
  message: string;
  files: number;
}

/** Commit all changes in the checkout; null when the turn changed nothing. */
export async function commitAll(opts: {
  dir: string;
  author: GitIdentity;
  committer: GitIdentity;
  message: string;
  redact?: Redactor;
}): Promise<CommitResult | null> {
  const g = (args: string[], env?: Record<string, string>) => git(args, { cwd: opts.dir, env, redact: opts.redact });
  await g(["add", "--all"]);
  const staged = (await g(["diff", "--cached", "--name-only", "-z"])).split("\0").filter(Boolean);
  if (staged.length === 0) return null;
  // --no-verify: the repository's hooks are not ours to run unattended; signing needs keys we lack.
  await g(["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", opts.message], identityEnv(opts.author, opts.committer));
  const sha = (await g(["rev-parse", "HEAD"])).trim();
  return { sha, message: opts.message.trim(), files: staged.length };
}

/** Files changed in the working tree (tracked and untracked), before committing. */
export async function changedFileCount(dir: string): Promise<number> {
  const out = await git(["status", "--porcelain", "-z", "--untracked-files=all"], { cwd: dir });
  return out.split("\0").filter((entry) => /^.. /.test(entry)).length;
}

/** Throw away uncommitted edits (a stopped turn's half-done work must not ride along in the next commit). */
export async function discardChanges(dir: string): Promise<void> {
  await git(["reset", "--hard", "--quiet"], { cwd: dir });
  await git(["clean", "-fdq"], { cwd: dir });
}

export class PushRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushRejectedError";
  }
}

export async function pushBranch(opts: {
  dir: string;
  branch: string;
  auth: GitAuth | null;
  redact?: Redactor;
  attempts?: number;
  retryDelayMs?: number;
  /** Where a retry is told (default stderr). */
  log?: (line: string) => void;
}): Promise<string> {
  const sha = (await git(["rev-parse", "HEAD"], { cwd: opts.dir })).trim();
  try {
    await withRetry(
      () => git(["push", "--quiet", "origin", `HEAD:refs/heads/${opts.branch}`], { cwd: opts.dir, auth: opts.auth, redact: opts.redact, timeoutMs: 5 * 60_000 }),
      {
        attempts: opts.attempts ?? 3,
        delayMs: backoff(opts.retryDelayMs ?? 1_000),
        retryable: (e) => e instanceof GitError && e.transient,
        onRetry: logRetries(opts.attempts ?? 3, opts.log),
      },
    );
  } catch (error) {
    const detail = error instanceof GitError ? error.stderr || error.message : String(error);
    throw new PushRejectedError(`Pushing ${opts.branch} failed: ${detail.slice(-2_000)}`);
  }
  return sha;
}
