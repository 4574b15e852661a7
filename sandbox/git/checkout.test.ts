/** Checkout preparation against real git repositories (a bare "remote" in a temp dir). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionSpec } from "../../protocol/runner-api.js";
import { sessionSpec } from "../../test/support/session-spec.js";
import { prepareCheckout } from "./checkout.js";
import { returnSnapshot, saveSnapshot, snapshotPath } from "./snapshot.js";
import { git } from "../../test/support/git.js";

const redact = (s: string) => s;

let root: string;
let remote: string;

function spec(over: Partial<SessionSpec> = {}): SessionSpec {
  return sessionSpec(remote, { headBranch: "inspect/1-demo", ...over });
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "checkout-"));
  const seed = path.join(root, "seed");
  mkdirSync(seed);
  git(seed, "init", "-q", "-b", "main");
  writeFileSync(path.join(seed, ".gitignore"), "node_modules/\n");
  writeFileSync(path.join(seed, "a.txt"), "main\n");
  git(seed, "add", "-A");
  git(seed, "commit", "-q", "-m", "base");
  git(seed, "checkout", "-q", "-b", "inspect/2-existing");
  writeFileSync(path.join(seed, "a.txt"), "pr head\n");
  git(seed, "commit", "-q", "-am", "head");
  remote = path.join(root, "remote.git");
  git(root, "clone", "-q", "--bare", seed, remote);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("prepareCheckout", () => {
  it("clones and creates the session branch from the base branch", async () => {
    const dir = path.join(root, "c1");
    const co = await prepareCheckout({ spec: spec(), dir, snapshotRoot: null, redact });
    expect(co.source).toBe("clone");
    expect(git(dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe("inspect/1-demo");
    expect(co.sha).toBe(git(remote, "rev-parse", "main"));
    expect(readFileSync(path.join(dir, "a.txt"), "utf8")).toBe("main\n");
  });

  it("checks out an existing head branch (PR threads, later runs)", async () => {
    const dir = path.join(root, "c2");
    const co = await prepareCheckout({
      spec: spec({ headBranch: "inspect/2-existing", headExists: true }),
      dir,
      snapshotRoot: null,
      redact,
    });
    expect(co.sha).toBe(git(remote, "rev-parse", "inspect/2-existing"));
    expect(readFileSync(path.join(dir, "a.txt"), "utf8")).toBe("pr head\n");
  });

  it("restores a snapshot with its installed dependencies, then syncs to the remote", async () => {
    const snapshots = path.join(root, "snapshots");
    const first = path.join(root, "c3");
    await prepareCheckout({ spec: spec(), dir: first, snapshotRoot: snapshots, redact });
    mkdirSync(path.join(first, "node_modules", "dep"), { recursive: true });
    writeFileSync(path.join(first, "node_modules", "dep", "index.js"), "installed");
    writeFileSync(path.join(first, "stray.txt"), "left behind");
    await saveSnapshot(first, snapshotPath(snapshots, "local", "demo"));

    const dir = path.join(root, "c4");
    const co = await prepareCheckout({
      spec: spec({ headBranch: "inspect/2-existing", headExists: true }),
      dir,
      snapshotRoot: snapshots,
      redact,
    });
    expect(co.source).toBe("snapshot");
    // Moved, not copied: the runner holds one snapshot per repository, taken by one session at a time.
    expect(existsSync(snapshotPath(snapshots, "local", "demo"))).toBe(false);
    expect(existsSync(path.join(dir, "node_modules", "dep", "index.js"))).toBe(true);
    expect(existsSync(path.join(dir, "stray.txt"))).toBe(false);
    expect(readFileSync(path.join(dir, "a.txt"), "utf8")).toBe("pr head\n");

    // Handing it back makes it the snapshot again; a second hand-back does not clobber it.
    expect(await returnSnapshot(dir, snapshotPath(snapshots, "local", "demo"))).toBe(true);
    expect(existsSync(path.join(snapshotPath(snapshots, "local", "demo"), "node_modules", "dep", "index.js"))).toBe(
      true,
    );
    expect(await returnSnapshot(first, snapshotPath(snapshots, "local", "demo"))).toBe(false);
  });

  it("fails clearly when the base branch does not exist", async () => {
    await expect(
      prepareCheckout({ spec: spec({ baseBranch: "nope" }), dir: path.join(root, "c5"), snapshotRoot: null, redact }),
    ).rejects.toThrow("The base branch nope does not exist on the remote");
  });

  it("fails clearly when the repository cannot be cloned", async () => {
    await expect(
      prepareCheckout({
        spec: spec({ cloneUrl: path.join(root, "missing.git") }),
        dir: path.join(root, "c6"),
        snapshotRoot: null,
        redact,
        retries: 1,
      }),
    ).rejects.toThrow(/git clone .* failed/);
  });
});
