import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git } from "../../test/support/git.js";
import { isLocalRepository, localIdentity, missingIdentityMessage } from "./author-local.js";

const root = mkdtempSync(path.join(os.tmpdir(), "author-local-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A repository and a HOME of its own, so the machine's own ~/.gitconfig plays no part. */
function setup(name: string, global: string | null) {
  const home = path.join(root, `${name}-home`);
  const repo = path.join(root, name);
  mkdirSync(home, { recursive: true });
  mkdirSync(repo, { recursive: true });
  if (global !== null) writeFileSync(path.join(home, ".gitconfig"), global);
  git(repo, "init", "-q");
  const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: "1" };
  return { repo, env };
}

describe("the local developer's git identity", () => {
  it("comes from the repository's own config first", async () => {
    const { repo, env } = setup("own", "[user]\n\tname = Global Gwen\n\temail = gwen@example.com\n");
    git(repo, "config", "user.name", "Repo Rita");
    git(repo, "config", "user.email", "rita@example.com");
    expect(await localIdentity(repo, env)).toEqual({ name: "Repo Rita", email: "rita@example.com" });
  });

  it("falls back to the global config", async () => {
    const { repo, env } = setup("global", "[user]\n\tname = Global Gwen\n\temail = gwen@example.com\n");
    expect(await localIdentity(repo, env)).toEqual({ name: "Global Gwen", email: "gwen@example.com" });
  });

  it("is null when neither has one (or only half of one), with a message that says how to set it", async () => {
    const { repo, env } = setup("none", null);
    expect(await localIdentity(repo, env)).toBeNull();
    git(repo, "config", "user.name", "Only A Name");
    expect(await localIdentity(repo, env)).toBeNull();
    expect(missingIdentityMessage(repo)).toContain('git config --global user.name "Your Name"');
  });

  it("applies to sessions on a path without a token, not to GitHub clones", () => {
    expect(isLocalRepository({ cloneUrl: "/home/me/code/app", gitToken: null })).toBe(true);
    expect(isLocalRepository({ cloneUrl: "https://github.com/a/b.git", gitToken: "t" })).toBe(false);
    expect(isLocalRepository({ cloneUrl: "https://github.com/a/b.git", gitToken: null })).toBe(false);
  });
});
