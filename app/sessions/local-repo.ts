/** Local mode: sessions on git repositories on this machine. */
import { execFile } from "node:child_process";
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

/** Register a local git repository (path must be a git work tree or bare repository). */
export async function registerLocalRepo(db: Db, repoPath: string, allowed: string[] | null): Promise<RepositoryRow> {
  const abs = path.resolve(repoPath);
  if (allowed && allowed.length > 0 && !allowed.includes(abs)) {
    throw new LocalRepoError(`${abs} is not one of INSPECT_LOCAL_REPOS`);
  }
  let top: string;
  let branch: string;
  try {
    const bare = (await git(abs, "rev-parse", "--is-bare-repository")) === "true";
    top = bare ? abs : await git(abs, "rev-parse", "--show-toplevel");
    branch = await git(abs, "symbolic-ref", "--short", "HEAD").catch(() => "main");
  } catch {
    throw new LocalRepoError(`${abs} is not a git repository`);
  }
  const base = path.basename(top).replace(/\.git$/, "").replace(/[^\w.-]/g, "-") || "repo";
  let name = base;
  const existing = await findRepositoryByFullName(db, `local/${name}`);
  if (existing && existing.localPath !== top) name = `${base}-${sha256(top).slice(0, 6)}`;
  return upsertRepository(db, { owner: "local", name, localPath: top, defaultBranch: branch, private: true });
}
