/**
 * Where a checkout comes from — snapshot folder, Actions cache, clone — against real git
 * repositories in temp dirs. GitHub's cache service is unreachable here, so a fake stands in
 * that behaves like it where it matters: an entry is a tarball found by key (prefix match,
 * newest wins) *and* by a version hashed from the paths it was saved with.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { SessionSpec } from "../../protocol/runner-api.js";
import { sessionSpec } from "../../test/support/session-spec.js";
import { prepareCheckout } from "./checkout.js";
import { git } from "../../test/support/git.js";
import {
  cacheKeyPrefix,
  cacheKeyTime,
  handBackCheckout,
  hasSnapshot,
  restoreFromActionsCache,
  saveSnapshot,
  saveToActionsCache,
  snapshotPath,
  type CacheService,
} from "./snapshot.js";

class FakeCacheService implements CacheService {
  entries: { key: string; version: string; file: string }[] = [];
  restores = 0;
  saves = 0;
  constructor(
    readonly store: string,
    public available = true,
  ) {}
  /** Like @actions/cache's getCacheVersion: the paths, as given, are part of the entry's identity. */
  static version(paths: string[]): string {
    return createHash("sha256")
      .update([...paths, "gzip", "1.0"].join("|"))
      .digest("hex");
  }
  isFeatureAvailable() {
    return this.available;
  }
  async restoreCache(paths: string[], primaryKey: string, restoreKeys: string[] = []) {
    this.restores++;
    const version = FakeCacheService.version(paths);
    const candidates = this.entries.filter((e) => e.version === version);
    let hit = candidates.find((e) => e.key === primaryKey);
    for (const key of [primaryKey, ...restoreKeys]) hit ??= candidates.filter((e) => e.key.startsWith(key)).at(-1);
    if (!hit) return undefined;
    execFileSync("tar", ["-xf", hit.file, "-C", "/"]);
    return hit.key;
  }
  async saveCache(paths: string[], key: string) {
    this.saves++;
    const version = FakeCacheService.version(paths);
    // Keys are immutable: the real service refuses to reserve an existing one.
    if (this.entries.some((e) => e.key === key && e.version === version)) return -1;
    const file = path.join(this.store, `${this.entries.length}.tar`);
    execFileSync("tar", ["-cf", file, "-C", "/", ...paths.map((p) => path.relative("/", p))]);
    this.entries.push({ key, version, file });
    return this.entries.length;
  }
}

// prepareCheckout loads the real @actions/cache; here it gets whichever fake the test set.
const mocked = vi.hoisted(() => ({ cache: null as CacheService | null }));
vi.mock("@actions/cache", () => ({
  isFeatureAvailable: () => mocked.cache?.isFeatureAvailable() ?? false,
  restoreCache: (...a: Parameters<CacheService["restoreCache"]>) => mocked.cache!.restoreCache(...a),
  saveCache: (...a: Parameters<CacheService["saveCache"]>) => mocked.cache!.saveCache(...a),
}));

const redact = (s: string) => s;
const quiet = () => undefined;

let root: string;
let remote: string;
let n = 0;

function spec(id: string): SessionSpec {
  return sessionSpec(remote, { id, headBranch: `inspect/${id}` });
}

/** A session's checkout folder, as the action lays it out: different for every session. */
const sessionDir = (id: string) => path.join(root, `work-${id}`, "sessions", id, "repo");

function fresh() {
  const store = path.join(root, `store-${++n}`);
  mkdirSync(store);
  return { cache: new FakeCacheService(store), cacheRoot: path.join(root, `runner-temp-${n}`, "inspect-cache") };
}

/** Session 1 on a runner with an empty cache: clones, installs a dependency, hands the checkout back. */
async function firstSession(cache: CacheService, cacheRoot: string, id = `s${++n}`) {
  const dir = sessionDir(id);
  const co = await prepareCheckout({ spec: spec(id), dir, snapshotRoot: null, redact });
  mkdirSync(path.join(dir, "node_modules", "dep"), { recursive: true });
  writeFileSync(path.join(dir, "node_modules", "dep", "index.js"), `installed by ${id}`);
  writeFileSync(path.join(dir, "stray.txt"), "left behind");
  const kept = await handBackCheckout({
    dir,
    owner: "local",
    name: "demo",
    sha: co.sha,
    source: co.source,
    snapshotRoot: null,
    useActionsCache: true,
    cache,
    root: cacheRoot,
    log: quiet,
  });
  return { dir, co, kept };
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "snapshot-"));
  const seed = path.join(root, "seed");
  mkdirSync(seed);
  git(seed, "init", "-q", "-b", "main");
  writeFileSync(path.join(seed, ".gitignore"), "node_modules/\n");
  writeFileSync(path.join(seed, "a.txt"), "main\n");
  git(seed, "add", "-A");
  git(seed, "commit", "-q", "-m", "base");
  remote = path.join(root, "remote.git");
  git(root, "clone", "-q", "--bare", seed, remote);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(() => {
  mocked.cache = null;
  vi.unstubAllEnvs();
});

describe("Actions cache fallback", () => {
  it("session 2, in another folder, restores what session 1 saved (dependencies included)", async () => {
    const { cache, cacheRoot } = fresh();
    const one = await firstSession(cache, cacheRoot);
    expect(one.kept).toEqual({ cached: true, snapshot: false });
    expect(cache.entries.map((e) => e.key)).toEqual([
      expect.stringMatching(new RegExp(`^${cacheKeyPrefix("local", "demo").replace(/[/-]/g, "\\$&")}`)),
    ]);
    // The checkout went to the fixed folder for the save and came back.
    expect(hasSnapshot(one.dir)).toBe(true);

    const dir = sessionDir(`s${++n}`);
    expect(await restoreFromActionsCache(dir, "local", "demo", { cache, root: cacheRoot, log: quiet })).not.toBeNull();
    expect(readFileSync(path.join(dir, "node_modules", "dep", "index.js"), "utf8")).toMatch(/^installed by/);
    expect(git(dir, "rev-parse", "HEAD")).toBe(one.co.sha);
    // The hand-back discarded the session's leftovers before saving.
    expect(existsSync(path.join(dir, "stray.txt"))).toBe(false);
  });

  it("(a cache keyed by the session's own folder, as before, never hits: the fake is faithful)", async () => {
    const { cache, cacheRoot } = fresh();
    const one = await firstSession(cache, cacheRoot);
    expect(await cache.saveCache([one.dir], `${cacheKeyPrefix("local", "demo")}x`)).toBeGreaterThan(0);
    const prefix = cacheKeyPrefix("local", "demo");
    expect(await cache.restoreCache([sessionDir("other")], prefix, [prefix])).toBeUndefined();
  });

  it("the newest entry wins", async () => {
    const { cache, cacheRoot } = fresh();
    await firstSession(cache, cacheRoot, "older");
    await firstSession(cache, cacheRoot, "newer");
    expect(cache.entries).toHaveLength(2);
    const dir = sessionDir(`s${++n}`);
    expect(await restoreFromActionsCache(dir, "local", "demo", { cache, root: cacheRoot, log: quiet })).not.toBeNull();
    expect(readFileSync(path.join(dir, "node_modules", "dep", "index.js"), "utf8")).toBe("installed by newer");
  });

  it("undefined (no entry) is a miss, logged", async () => {
    const { cache, cacheRoot } = fresh();
    const lines: string[] = [];
    const dir = sessionDir(`s${++n}`);
    expect(
      await restoreFromActionsCache(dir, "local", "demo", { cache, root: cacheRoot, log: (l) => lines.push(l) }),
    ).toBeNull();
    expect(cache.restores).toBe(1);
    expect(existsSync(dir)).toBe(false);
    expect(lines.join("\n")).toMatch(/no cached checkout/);
  });

  it("-1 from a save is a miss; the checkout stays where it was", async () => {
    const { cacheRoot } = fresh();
    const refusing: CacheService = {
      isFeatureAvailable: () => true,
      restoreCache: async () => undefined,
      saveCache: async () => -1,
    };
    const one = await firstSession(refusing, cacheRoot);
    expect(one.kept.cached).toBe(false);
    expect(hasSnapshot(one.dir)).toBe(true);
    expect(existsSync(path.join(one.dir, "node_modules", "dep", "index.js"))).toBe(true);
  });

  it("a throwing cache is a miss, never a failure", async () => {
    const { cacheRoot } = fresh();
    const broken: CacheService = {
      isFeatureAvailable: () => true,
      restoreCache: async () => {
        throw new Error("cache service unreachable");
      },
      saveCache: async () => {
        throw new Error("cache service unreachable");
      },
    };
    const lines: string[] = [];
    expect(
      await restoreFromActionsCache(sessionDir(`s${++n}`), "local", "demo", {
        cache: broken,
        root: cacheRoot,
        log: (l) => lines.push(l),
      }),
    ).toBeNull();
    expect(lines.join("\n")).toMatch(/restore failed.*unreachable/);
    const one = await firstSession(broken, cacheRoot);
    expect(one.kept.cached).toBe(false);
    expect(hasSnapshot(one.dir)).toBe(true);
    const unavailable: CacheService = {
      isFeatureAvailable: () => {
        throw new Error("no");
      },
      restoreCache: async () => "never",
      saveCache: async () => 1,
    };
    expect(
      await restoreFromActionsCache(sessionDir(`s${++n}`), "local", "demo", {
        cache: unavailable,
        root: cacheRoot,
        log: quiet,
      }),
    ).toBeNull();
    expect(
      await saveToActionsCache(one.dir, "local", "demo", one.co.sha, {
        cache: unavailable,
        root: cacheRoot,
        log: quiet,
      }),
    ).toBe(false);
  });

  it("no cache service: neither restore nor save is attempted", async () => {
    const { cache, cacheRoot } = fresh();
    cache.available = false;
    const one = await firstSession(cache, cacheRoot);
    expect(one.kept.cached).toBe(false);
    expect(
      await restoreFromActionsCache(sessionDir(`s${++n}`), "local", "demo", { cache, root: cacheRoot, log: quiet }),
    ).toBeNull();
    expect(cache.restores + cache.saves).toBe(0);
  });

  it("an entry that holds no git checkout is a miss", async () => {
    const { cache, cacheRoot } = fresh();
    const fixed = snapshotPath(cacheRoot, "local", "demo");
    mkdirSync(fixed, { recursive: true });
    writeFileSync(path.join(fixed, "junk"), "x");
    await cache.saveCache([fixed], `${cacheKeyPrefix("local", "demo")}junk`);
    rmSync(fixed, { recursive: true });
    const dir = sessionDir(`s${++n}`);
    expect(await restoreFromActionsCache(dir, "local", "demo", { cache, root: cacheRoot, log: quiet })).toBeNull();
    expect(existsSync(dir)).toBe(false);
  });

  it("a checkout that came from the snapshot or the cache is not uploaded again; a clone goes to both cache and snapshot", async () => {
    const { cache, cacheRoot } = fresh();
    const snapshots = path.join(root, `snapshots-${n}`);
    for (const source of ["snapshot", "cache"] as const) {
      const id = `s${++n}`;
      const dir = sessionDir(id);
      const co = await prepareCheckout({ spec: spec(id), dir, snapshotRoot: null, redact });
      const kept = await handBackCheckout({
        dir,
        owner: "local",
        name: "demo",
        sha: co.sha,
        source,
        snapshotRoot: null,
        useActionsCache: true,
        cache,
        root: cacheRoot,
        log: quiet,
      });
      expect(kept).toEqual({ cached: false, snapshot: false });
    }
    expect(cache.saves).toBe(0);
    const id = `s${++n}`;
    const dir = sessionDir(id);
    const co = await prepareCheckout({ spec: spec(id), dir, snapshotRoot: null, redact });
    const kept = await handBackCheckout({
      dir,
      owner: "local",
      name: "demo",
      sha: co.sha,
      source: co.source,
      snapshotRoot: snapshots,
      useActionsCache: true,
      cache,
      root: cacheRoot,
      log: quiet,
    });
    expect(kept).toEqual({ cached: true, snapshot: true });
    expect(hasSnapshot(snapshotPath(snapshots, "local", "demo"))).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("a cache entry that has grown old", () => {
  it("is saved anew from the checkout it gave (restoring keeps it from being evicted), a recent one is not", async () => {
    const { cache, cacheRoot } = fresh();
    const saved = (days: number) =>
      cacheKeyPrefix("local", "demo") + (Date.now() - days * 24 * 3_600_000).toString(36) + "-abcdef";
    expect(cacheKeyTime(saved(3), "local", "demo")).toBeLessThan(Date.now() - 2 * 24 * 3_600_000);
    expect(cacheKeyTime("someone-else's-key", "local", "demo")).toBeNull();
    for (const [days, expected] of [
      [3, false],
      [8, true],
    ] as const) {
      const id = `s${++n}`;
      const dir = sessionDir(id);
      const co = await prepareCheckout({ spec: spec(id), dir, snapshotRoot: null, redact });
      const kept = await handBackCheckout({
        dir,
        owner: "local",
        name: "demo",
        sha: co.sha,
        source: "cache",
        cachedAt: cacheKeyTime(saved(days), "local", "demo"),
        snapshotRoot: null,
        useActionsCache: true,
        cache,
        root: cacheRoot,
        log: quiet,
      });
      expect(kept.cached, `${days} days old`).toBe(expected);
    }
    expect(cache.saves).toBe(1);
  });
});

describe("prepareCheckout with the real module replaced by the fake", () => {
  it("falls back to the cache when the snapshot folder misses, and the snapshot folder beats the cache", async () => {
    const { cache, cacheRoot } = fresh();
    mocked.cache = cache;
    vi.stubEnv("RUNNER_TEMP", path.dirname(cacheRoot));
    await firstSession(cache, cacheRoot);
    const snapshots = path.join(root, `snapshots-${n}`);

    // Snapshot folder empty: the cache has the repository.
    const id2 = `s${++n}`;
    const two = await prepareCheckout({
      spec: spec(id2),
      dir: sessionDir(id2),
      snapshotRoot: snapshots,
      redact,
      useActionsCache: true,
    });
    expect(two.source).toBe("cache");
    // When its entry was saved (just now), so the hand-back knows whether to refresh it.
    expect(Date.now() - two.cachedAt!).toBeLessThan(60_000);
    expect(existsSync(path.join(two.dir, "node_modules", "dep", "index.js"))).toBe(true);
    expect(git(two.dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe(`inspect/${id2}`);

    // The runner now has a snapshot: it wins, and the cache is not even asked.
    await saveSnapshot(two.dir, snapshotPath(snapshots, "local", "demo"));
    writeFileSync(
      path.join(snapshotPath(snapshots, "local", "demo"), "node_modules", "dep", "index.js"),
      "from the snapshot",
    );
    const restores = cache.restores;
    const id3 = `s${++n}`;
    const three = await prepareCheckout({
      spec: spec(id3),
      dir: sessionDir(id3),
      snapshotRoot: snapshots,
      redact,
      useActionsCache: true,
    });
    expect(three.source).toBe("snapshot");
    expect(readFileSync(path.join(three.dir, "node_modules", "dep", "index.js"), "utf8")).toBe("from the snapshot");
    expect(cache.restores).toBe(restores);
  });

  it("clones when neither the snapshot folder nor the cache has the repository", async () => {
    const { cache, cacheRoot } = fresh();
    mocked.cache = cache;
    vi.stubEnv("RUNNER_TEMP", path.dirname(cacheRoot));
    const id = `s${++n}`;
    const co = await prepareCheckout({
      spec: spec(id),
      dir: sessionDir(id),
      snapshotRoot: path.join(root, `snapshots-${n}`),
      redact,
      useActionsCache: true,
    });
    expect(co.source).toBe("clone");
    expect(cache.restores).toBe(1);
  });
});
