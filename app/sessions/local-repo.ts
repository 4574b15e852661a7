/** Local mode: sessions on git repositories on this machine. */
import { execFile } from "node:child_process";
import { realpathSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Db } from "../db/client.js";
import { findRepositoryByFullName, upsertRepository, type RepositoryRow } from "../db/accounts.js";
import { sha256 } from "../util/tokens.js";

const run = promisify(execFile);

export class LocalRepoError extends Error {
  override name = "LocalRepoError";
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", args, { cwd, timeout: 10_000 });
  return stdout.trim();
}

/** The real path (symlinks resolved), or null when it does not exist. */
function real(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

const within = (child: string, parent: string) =>
  child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/**
 * The repository at `repoPath`: its top folder (the repository itself when bare) and current
 * branch. With an allow-list (INSPECT_LOCAL_REPOS), both the path asked for and the repository
 * git finds there must be one of the listed repositories, compared after resolving symlinks
 * and `..` — so a symlink or a listed folder that is not itself a repository cannot lead to
 * another repository (git would otherwise walk up to an enclosing one).
 */
export async function resolveLocalRepo(
  repoPath: string,
  allowed: string[] | null,
): Promise<{ top: string; branch: string }> {
  const abs = path.resolve(repoPath);
  const realAbs = real(abs);
  const allowedReal =
    allowed && allowed.length > 0
      ? allowed.map((a) => real(path.resolve(a))).filter((a): a is string => a !== null)
      : null;
  const notAllowed = () => new LocalRepoError(`${abs} is not one of INSPECT_LOCAL_REPOS`);
  // Not even git runs in a folder outside the listed repositories (a repository's config can run commands).
  if (allowedReal && !(realAbs && allowedReal.some((a) => within(realAbs, a)))) throw notAllowed();
  if (!realAbs) throw new LocalRepoError(`${abs} is not a git repository`);
  let top: string;
  let branch: string;
  try {
    const bare = (await git(realAbs, "rev-parse", "--is-bare-repository")) === "true";
    top = await git(realAbs, "rev-parse", bare ? "--absolute-git-dir" : "--show-toplevel");
    branch = await git(realAbs, "symbolic-ref", "--short", "HEAD").catch(() => "main");
  } catch {
    throw new LocalRepoError(`${abs} is not a git repository`);
  }
  top = real(top) ?? top;
  if (allowedReal && !allowedReal.includes(top)) throw notAllowed();
  return { top, branch };
}

/** Register a local git repository (path must be a git work tree or bare repository). */
export async function registerLocalRepo(db: Db, repoPath: string, allowed: string[] | null): Promise<RepositoryRow> {
  const { top, branch } = await resolveLocalRepo(repoPath, allowed);
  const base =
    path
      .basename(top)
      .replace(/\.git$/, "")
      .replace(/[^\w.-]/g, "-") || "repo";
  let name = base;
  const existing = await findRepositoryByFullName(db, `local/${name}`);
  if (existing && existing.localPath !== top) name = `${base}-${sha256(top).slice(0, 6)}`;
  return upsertRepository(db, { owner: "local", name, localPath: top, defaultBranch: branch, private: true });
}
