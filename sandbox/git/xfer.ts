/**
 * Network git never touches the checkout's own git directory. A repository or the agent can
 * write anything into `.git/config` (a proxy, `sslVerify=false`, trace2 targets that log
 * config values…), and git reads it before our settings could stop it. So fetches and pushes
 * that carry the token run in a staging repository of ours (`xfer/git`: our config, no hooks)
 * that borrows the checkout's objects read-only through `objects/info/alternates`; the
 * checkout then fetches from the staging repository without any token in reach.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Jail } from "../jail/jail.js";
import type { Redactor } from "../redact.js";
import { git, type GitAuth } from "./run.js";

export interface StagingOptions {
  jail: Jail;
  /** The checkout whose objects are borrowed. */
  dir: string;
  redact?: Redactor;
}

const NETWORK_TIMEOUT_MS = 10 * 60_000;
// The staging repository is named by GIT_DIR (not --git-dir), so messages read "git push …".

/** The staging repository (made on first use); its alternates always point at the checkout. */
async function stagingRepo(o: StagingOptions): Promise<string> {
  const staging = path.join(o.jail.xfer, "git");
  if (!existsSync(path.join(staging, "HEAD"))) {
    await git(["init", "--bare", "--quiet", staging], {
      cwd: o.jail.xfer,
      jail: o.jail,
      ownJail: true,
      redact: o.redact,
    });
  }
  const alternates = path.join(staging, "objects", "info", "alternates");
  writeFileSync(alternates, `${path.join(o.dir, ".git", "objects")}\n`);
  o.jail.own(alternates);
  return staging;
}

export interface FetchRef {
  /** Branch on the remote. */
  branch: string;
  /** Where it lands in the checkout, e.g. refs/remotes/origin/main. */
  into: string;
}

/**
 * Fetch `refs` from `url` into the checkout. `haves` are commits the checkout already has
 * (its old remote refs): given to the staging repository as refs, they keep the fetch small.
 */
export async function fetchThroughStaging(
  o: StagingOptions & { url: string; auth: GitAuth | null; refs: FetchRef[]; haves: string[] },
): Promise<void> {
  const staging = await stagingRepo(o);
  const base = { cwd: o.jail.xfer, jail: o.jail, redact: o.redact };
  const hints = o.haves.filter((sha) => /^[0-9a-f]{40}$/.test(sha));
  for (const [i, sha] of hints.entries()) {
    // A commit the checkout says it has but does not is only a lost hint.
    await git(["update-ref", `refs/haves/${i}`, sha], { ...base, env: { GIT_DIR: staging }, ownJail: true }).catch(
      () => undefined,
    );
  }
  const specs = o.refs.map((r) => `+refs/heads/${r.branch}:refs/heads/${r.branch}`);
  await git(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", o.url, ...specs], {
    ...base,
    env: { GIT_DIR: staging },
    auth: o.auth,
    ownJail: true,
    timeoutMs: NETWORK_TIMEOUT_MS,
  });
  const into = o.refs.map((r) => `+refs/heads/${r.branch}:${r.into}`);
  await git(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", staging, ...into], {
    cwd: o.dir,
    jail: o.jail,
    redact: o.redact,
    timeoutMs: NETWORK_TIMEOUT_MS,
  });
}

/** Push commit `sha` (made in the checkout) to `branch` at `url`. */
export async function pushThroughStaging(
  o: StagingOptions & { url: string; auth: GitAuth | null; sha: string; branch: string },
): Promise<void> {
  const staging = await stagingRepo(o);
  await git(["push", "--quiet", o.url, `${o.sha}:refs/heads/${o.branch}`], {
    cwd: o.jail.xfer,
    env: { GIT_DIR: staging },
    jail: o.jail,
    auth: o.auth,
    ownJail: true,
    redact: o.redact,
    timeoutMs: 5 * 60_000,
  });
}

/**
 * A restored checkout's git directory as we would have made it: a previous session (or the
 * repository) may have left hooks, a config that runs programs, or alternates pointing
 * elsewhere. Done inside the jail, as the sandbox user, so a `.git` that is a link leads
 * nowhere it could not already write.
 */
export function cleanGitConfig(cloneUrl: string): string {
  return [
    "[core]",
    "\trepositoryformatversion = 0",
    "\tfilemode = true",
    "\tbare = false",
    "\tlogallrefupdates = true",
    '[remote "origin"]',
    `\turl = ${cloneUrl}`,
    "\tfetch = +refs/heads/*:refs/remotes/origin/*",
    "",
  ].join("\n");
}

export const REBUILD_GIT_DIR =
  'set -e; test -d .git && test ! -L .git; rm -rf -- .git/hooks; mkdir .git/hooks; rm -f -- .git/config .git/objects/info/alternates .git/info/attributes; printf "%s" "$1" > .git/config';
