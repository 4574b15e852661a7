/** INSPECT_LOCAL_REPOS: local mode runs sessions only on the listed repositories, whatever path is asked for. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../db/client.js";
import { LocalRepoError, registerLocalRepo, resolveLocalRepo } from "./local-repo.js";
import { git } from "../../test/support/git.js";

let root: string;
let database: Database;
/** A working repository on branch `trunk`, listed. */
let allowedRepo: string;
/** A bare repository, listed. */
let allowedBare: string;
/** A repository not listed. */
let secret: string;
/** A plain folder inside the unlisted repository. */
let plainInSecret: string;
let allowed: string[];

function initRepo(dir: string, branch = "main") {
  mkdirSync(dir, { recursive: true });
  git(dir, "init", "-q", "-b", branch);
  writeFileSync(path.join(dir, "a.txt"), "a\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "init");
}

beforeAll(async () => {
  // Real path: on macOS the temp folder is itself behind a symlink.
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), "local-repo-")));
  allowedRepo = path.join(root, "work", "project");
  initRepo(allowedRepo, "trunk");
  mkdirSync(path.join(allowedRepo, "src"));
  allowedBare = path.join(root, "bare", "shared.git");
  git(root, "clone", "-q", "--bare", allowedRepo, allowedBare);
  secret = path.join(root, "secret");
  initRepo(secret);
  plainInSecret = path.join(secret, "plain");
  mkdirSync(plainInSecret);
  allowed = [allowedRepo, allowedBare, plainInSecret];
  database = await openDatabase({ dataDir: "memory://" });
});

afterAll(async () => {
  await database?.close();
  rmSync(root, { recursive: true, force: true });
});

const rejected = (p: string, list: string[] | null = allowed) =>
  expect(resolveLocalRepo(p, list)).rejects.toBeInstanceOf(LocalRepoError);

describe("local repositories and INSPECT_LOCAL_REPOS", () => {
  it("registers a listed working (non-bare) repository with its top folder and current branch", async () => {
    const row = await registerLocalRepo(database.db, allowedRepo, allowed);
    expect(row).toMatchObject({
      owner: "local",
      name: "project",
      fullName: "local/project",
      localPath: allowedRepo,
      defaultBranch: "trunk",
    });
    // Registering again is the same repository.
    expect((await registerLocalRepo(database.db, allowedRepo, allowed)).id).toBe(row.id);
  });

  it("registers a listed bare repository", async () => {
    const row = await registerLocalRepo(database.db, allowedBare, allowed);
    expect(row).toMatchObject({ name: "shared", localPath: allowedBare, defaultBranch: "trunk" });
  });

  it("a subfolder of a listed repository is that repository", async () => {
    expect(await resolveLocalRepo(path.join(allowedRepo, "src"), allowed)).toEqual({
      top: allowedRepo,
      branch: "trunk",
    });
    expect(await resolveLocalRepo(path.join(allowedBare, "refs"), allowed)).toEqual({
      top: allowedBare,
      branch: "trunk",
    });
  });

  it("rejects a repository that is not listed", async () => {
    await rejected(secret);
    await expect(resolveLocalRepo(secret, allowed)).rejects.toThrow(`${secret} is not one of INSPECT_LOCAL_REPOS`);
  });

  it("rejects path traversal out of a listed repository", async () => {
    await rejected(`${allowedRepo}/../../secret`);
    await rejected(path.join(allowedRepo, "..", "..", "secret", "a.txt"));
  });

  it("rejects a symlink inside a listed repository that points to an unlisted one", async () => {
    const link = path.join(allowedRepo, "src", "escape");
    symlinkSync(secret, link);
    try {
      await rejected(link);
    } finally {
      rmSync(link);
    }
  });

  it("accepts a symlink to a listed repository (the repository is what is listed, not the spelling)", async () => {
    const link = path.join(root, "link-to-project");
    symlinkSync(allowedRepo, link);
    expect((await resolveLocalRepo(link, allowed)).top).toBe(allowedRepo);
  });

  it("a listed folder that is not itself a repository cannot lead to the repository around it", async () => {
    await rejected(plainInSecret);
  });

  it("rejects a folder that is not a git repository, and one that does not exist", async () => {
    const plain = path.join(root, "plain");
    mkdirSync(plain);
    await expect(resolveLocalRepo(plain, [...allowed, plain])).rejects.toThrow(`${plain} is not a git repository`);
    await expect(resolveLocalRepo(plain, null)).rejects.toThrow(`${plain} is not a git repository`);
    await expect(resolveLocalRepo(path.join(root, "missing"), null)).rejects.toThrow("is not a git repository");
    await rejected(path.join(root, "missing"));
  });

  it("without a list (loopback only) any repository goes; a subfolder means its repository", async () => {
    expect((await resolveLocalRepo(secret, null)).top).toBe(secret);
    expect((await resolveLocalRepo(plainInSecret, [])).top).toBe(secret);
  });
});
