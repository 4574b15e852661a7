/**
 * Someone pushed to the session's branch while the turn ran (a person fixing a typo on the
 * PR, another tool): our push is rejected as non-fast-forward. Rather than fail for ever, the
 * turn's commits are put on top of theirs — rebased, or merged when a rebase conflicts — and
 * the session says which. Runs in the session jail, token-free: the remote branch is fetched
 * through the staging repository first.
 */
import type { Jail } from "../jail/jail.js";
import type { Redactor } from "../redact.js";
import { identityEnv, type GitIdentity } from "./author.js";
import { git, GitError, type GitAuth } from "./run.js";
import { fetchThroughStaging } from "./xfer.js";

export interface Synced {
  how: "rebased" | "merged";
  /** The remote commit the turn's work now sits on. */
  onto: string;
  /** How many commits had been pushed by others meanwhile. */
  theirs: number;
}

export class SyncConflictError extends Error {
  override name = "SyncConflictError";
}

/** Whether a push failed because the remote branch moved on (not for a network or permission reason). */
export function isNonFastForward(error: unknown): boolean {
  return (
    error instanceof GitError &&
    /non-fast-forward|\[rejected\].*\(fetch first\)|updates were rejected/i.test(error.stderr)
  );
}

export async function syncWithRemote(opts: {
  dir: string;
  jail: Jail;
  url: string;
  branch: string;
  auth: GitAuth | null;
  committer: GitIdentity;
  redact?: Redactor;
}): Promise<Synced> {
  const remoteRef = `refs/remotes/origin/${opts.branch}`;
  const g = (args: string[], env?: Record<string, string>) =>
    git(args, { cwd: opts.dir, jail: opts.jail, redact: opts.redact, env });
  const head = (await g(["rev-parse", "HEAD"])).trim();
  await fetchThroughStaging({
    jail: opts.jail,
    dir: opts.dir,
    url: opts.url,
    auth: opts.auth,
    refs: [{ branch: opts.branch, into: remoteRef }],
    haves: [head],
    redact: opts.redact,
  });
  const onto = (await g(["rev-parse", remoteRef])).trim();
  const theirs = Number((await g(["rev-list", "--count", `HEAD..${onto}`])).trim()) || 0;
  // Rewritten commits keep their authors; the committer is the bot, as for every commit.
  const env = identityEnv(opts.committer, opts.committer);
  delete env.GIT_AUTHOR_NAME;
  delete env.GIT_AUTHOR_EMAIL;
  try {
    await g(["-c", "commit.gpgsign=false", "rebase", "--quiet", onto], env);
    return { how: "rebased", onto, theirs };
  } catch {
    await g(["rebase", "--abort"]).catch(() => undefined);
  }
  try {
    await g(
      [
        "-c",
        "commit.gpgsign=false",
        "merge",
        "--quiet",
        "--no-edit",
        "-m",
        `Merge ${opts.branch} as pushed meanwhile`,
        onto,
      ],
      identityEnv(opts.committer, opts.committer),
    );
    return { how: "merged", onto, theirs };
  } catch (error) {
    await g(["merge", "--abort"]).catch(() => undefined);
    await g(["reset", "--hard", "--quiet", head]).catch(() => undefined);
    throw new SyncConflictError(
      `${theirs} commit(s) were pushed to ${opts.branch} while this turn ran, and they conflict with its changes (neither a rebase nor a merge applies cleanly). This turn's commit is kept here but not pushed; ask for a follow-up to redo it on top of the new commits. ${error instanceof Error ? error.message.slice(0, 500) : ""}`,
    );
  }
}
