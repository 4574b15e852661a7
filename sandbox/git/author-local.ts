/**
 * Local mode: the work is the developer's own, in their own repository, so its commits carry
 * the identity they commit with there — `user.name` / `user.email` from that repository's
 * config, else their global one — not a made-up GitHub account.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import type { Author } from "../../protocol/events.js";
import { authorIdentity, type GitIdentity } from "./author.js";

/** A session on a repository on this machine (cloned from a path, no token): local mode. */
export function isLocalRepository(spec: { cloneUrl: string; gitToken: string | null }): boolean {
  return spec.gitToken === null && path.isAbsolute(spec.cloneUrl);
}

/** What to tell someone whose repository and global config both lack an identity. */
export function missingIdentityMessage(repo: string): string {
  return (
    `git has no identity to commit as in ${repo}: set yours with ` +
    `git config --global user.name "Your Name" and git config --global user.email you@example.com ` +
    `(or without --global, in that repository only)`
  );
}

/** The identity git itself would commit with in `repo` (its config, then the global and system ones), or null. */
export async function localIdentity(repo: string, env: NodeJS.ProcessEnv = process.env): Promise<GitIdentity | null> {
  const [name, email] = await Promise.all([configValue(repo, "user.name", env), configValue(repo, "user.email", env)]);
  return name && email ? { name, email } : null;
}

function configValue(repo: string, key: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  // Only reading config: no hook, filter or fsmonitor can run for `git config --get`.
  return new Promise((resolve) =>
    execFile("git", ["config", "--get", key], { cwd: repo, env, timeout: 10_000 }, (error, stdout) =>
      resolve(error ? null : stdout.trim() || null),
    ),
  );
}

/** Who a turn's commit is authored by: the developer in local mode, else the person who asked. */
export async function turnAuthor(
  spec: { cloneUrl: string; gitToken: string | null; noreplyDomain?: string },
  asker: Author,
): Promise<GitIdentity> {
  // The requester's no-reply address on this GitHub host, so the commit links to their account (GHE too).
  if (!isLocalRepository(spec)) return authorIdentity(asker, spec.noreplyDomain);
  const own = await localIdentity(spec.cloneUrl);
  if (!own) throw new Error(missingIdentityMessage(spec.cloneUrl));
  return own;
}
