/**
 * Where a checkout comes from, fastest first: the runner's persistent snapshot folder (a
 * previous session's checkout with dependencies installed), the Actions cache where that
 * service exists, else a fresh clone. `@actions/cache` resolves `undefined` (restore) or `-1`
 * (save) when there is no entry or no service; those and any error are a miss, never a failed
 * session.
 *
 * A snapshot is moved, not copied: copying tens of thousands of dependency files costs
 * seconds, a rename costs nothing. The session takes the snapshot and puts its checkout
 * back when it ends; a session running meanwhile on the same runner finds none and clones.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Jail } from "../jail/jail.js";
import { discardChanges } from "./commit.js";

const run = promisify(execFile);

export function snapshotPath(root: string, owner: string, name: string): string {
  const safe = (s: string) => s.replace(/[^\w.-]/g, "_");
  return path.join(root, safe(owner), safe(name));
}

export function hasSnapshot(snapshot: string): boolean {
  return existsSync(path.join(snapshot, ".git", "HEAD"));
}

/** Copy a folder tree, sharing blocks where the file system can (reflink), else a plain copy. */
async function copyTree(from: string, to: string): Promise<void> {
  mkdirSync(path.dirname(to), { recursive: true });
  await run("cp", ["-a", "--reflink=auto", from, to]);
}

/** Take the snapshot: move it to `dir` (a session running meanwhile finds none). False when there is none. */
export async function restoreSnapshot(snapshot: string, dir: string): Promise<boolean> {
  if (!hasSnapshot(snapshot)) return false;
  await moveTree(snapshot, dir);
  return true;
}

/** Hand the checkout back as the snapshot (a move); keeps an existing snapshot if one appeared meanwhile. */
export async function returnSnapshot(dir: string, snapshot: string): Promise<boolean> {
  if (hasSnapshot(snapshot) || !existsSync(path.join(dir, ".git"))) return false;
  mkdirSync(path.dirname(snapshot), { recursive: true });
  try {
    renameSync(dir, snapshot);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await saveSnapshot(dir, snapshot);
    return true;
  }
}

/** Write a snapshot as a copy, atomically (copy beside, then rename): a crash never leaves half a tree. */
export async function saveSnapshot(dir: string, snapshot: string): Promise<void> {
  const staging = `${snapshot}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  await copyTree(dir, staging);
  if (hasSnapshot(snapshot)) {
    const old = `${snapshot}.old-${process.pid}`;
    renameSync(snapshot, old);
    renameSync(staging, snapshot);
    rmSync(old, { recursive: true, force: true });
  } else {
    mkdirSync(path.dirname(snapshot), { recursive: true });
    renameSync(staging, snapshot);
  }
}

/**
 * The slice of `@actions/cache` used here, injected so tests can stand in for GitHub's cache
 * service. Like the real service, an entry is found by key *and* by a version hashed from
 * `paths`: restore and save must name the same path, so the cache goes through one fixed
 * folder per repository (see {@link cachePath}), never the session's own checkout folder.
 */
export interface CacheService {
  isFeatureAvailable(): boolean;
  /** The matched key, or undefined on a miss (also when there is no cache service). */
  restoreCache(paths: string[], primaryKey: string, restoreKeys?: string[]): Promise<string | undefined>;
  /** The cache id, or -1 when nothing was saved. */
  saveCache(paths: string[], key: string): Promise<number>;
}

export interface CacheOptions {
  /** Default: the real `@actions/cache` (loaded on first use). */
  cache?: CacheService | null;
  /** Where the fixed per-repository folder lives; default `$RUNNER_TEMP/inspect-cache` (same path every job). */
  root?: string;
  log?: (line: string) => void;
}

const defaultLog = (line: string) => void process.stderr.write(`[sandbox] ${line}\n`);

/** The real `@actions/cache`, or null when it cannot be loaded. Loaded lazily: local runs never need it. */
async function loadActionsCache(): Promise<CacheService | null> {
  try {
    return (await import("@actions/cache")) as CacheService;
  } catch {
    return null;
  }
}

async function usableCache(o: CacheOptions): Promise<CacheService | null> {
  const cache = o.cache === undefined ? await loadActionsCache() : o.cache;
  try {
    return cache?.isFeatureAvailable() ? cache : null;
  } catch {
    return null;
  }
}

/** Whether the Actions cache service is reachable from this job (ACTIONS_CACHE_URL / ACTIONS_RESULTS_URL set). */
export async function actionsCacheAvailable(cache?: CacheService | null): Promise<boolean> {
  return (await usableCache({ cache })) !== null;
}

function defaultCacheRoot(): string {
  return path.join(process.env.RUNNER_TEMP || tmpdir(), "inspect-cache");
}

/**
 * Restore keys match by prefix and the newest entry wins. The platform is part of the key:
 * a checkout carries installed dependencies, which may hold native binaries.
 */
export function cacheKeyPrefix(owner: string, name: string): string {
  return `inspect-checkout-${process.platform}-${process.arch}-${owner}/${name}-`;
}

/** When a cache entry was saved (its key carries the time), or null for a key not made here. */
export function cacheKeyTime(key: string, owner: string, name: string): number | null {
  const prefix = cacheKeyPrefix(owner, name);
  if (!key.startsWith(prefix)) return null;
  const time = Number.parseInt(key.slice(prefix.length).split("-")[0] ?? "", 36);
  return Number.isFinite(time) ? time : null;
}

/**
 * A restored entry is saved anew once it is this old: restoring keeps an entry from being
 * evicted, so without a refresh every later session would start from the first clone and
 * fetch ever more on top of it.
 */
const CACHE_REFRESH_MS = 7 * 24 * 3_600_000;

/** Move a folder; across file systems, copy then delete. */
async function moveTree(from: string, to: string): Promise<void> {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(path.dirname(to), { recursive: true });
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await copyTree(from, to);
    rmSync(from, { recursive: true, force: true });
  }
}

/**
 * Restore the newest cached checkout of the repository into `dir`. Any failure — no cache
 * service, no entry (`undefined`), an error, a restored tree that is not a repository — is a
 * miss: logged, and the caller clones.
 */
export async function restoreFromActionsCache(
  dir: string,
  owner: string,
  name: string,
  o: CacheOptions = {},
): Promise<string | null> {
  const log = o.log ?? defaultLog;
  const cache = await usableCache(o);
  if (!cache) return null;
  // The fixed folder a repository's checkout passes through on its way into and out of the cache.
  const fixed = snapshotPath(o.root ?? defaultCacheRoot(), owner, name);
  const prefix = cacheKeyPrefix(owner, name);
  try {
    rmSync(fixed, { recursive: true, force: true });
    mkdirSync(path.dirname(fixed), { recursive: true });
    const hit = await cache.restoreCache([fixed], prefix, [prefix]);
    if (hit === undefined) {
      log("Actions cache: no cached checkout, cloning");
      return null;
    }
    if (!hasSnapshot(fixed)) {
      log(`Actions cache: entry ${hit} holds no git checkout, cloning`);
      return null;
    }
    await moveTree(fixed, dir);
    log(`Actions cache: restored ${hit}`);
    return hit;
  } catch (error) {
    log(`Actions cache: restore failed, cloning: ${(error as Error).message}`);
    return null;
  } finally {
    rmSync(fixed, { recursive: true, force: true });
  }
}

/**
 * Save the checkout to the cache under a new key (keys are immutable, so each save is its own
 * entry and the newest wins on restore). The checkout is moved to the fixed folder for the
 * save and back afterwards, whatever happens. False when nothing was saved.
 */
export async function saveToActionsCache(
  dir: string,
  owner: string,
  name: string,
  sha: string,
  o: CacheOptions = {},
): Promise<boolean> {
  const log = o.log ?? defaultLog;
  const cache = await usableCache(o);
  if (!cache || !hasSnapshot(dir)) return false;
  const fixed = snapshotPath(o.root ?? defaultCacheRoot(), owner, name);
  const key = `${cacheKeyPrefix(owner, name)}${Date.now().toString(36)}-${sha.slice(0, 12)}`;
  try {
    await moveTree(dir, fixed);
  } catch (error) {
    log(`Actions cache: could not stage the checkout for saving: ${(error as Error).message}`);
    return false;
  }
  try {
    const id = await cache.saveCache([fixed], key);
    if (typeof id !== "number" || id === -1) {
      log(`Actions cache: checkout not saved (${key})`);
      return false;
    }
    log(`Actions cache: saved ${key}`);
    return true;
  } catch (error) {
    log(`Actions cache: save failed: ${(error as Error).message}`);
    return false;
  } finally {
    await moveTree(fixed, dir);
  }
}

export interface HandBackOptions extends CacheOptions {
  dir: string;
  owner: string;
  name: string;
  sha: string;
  /** Where the checkout came from (see `prepareCheckout`). */
  source: "snapshot" | "cache" | "clone";
  /** For a checkout from the cache: when its entry was saved. */
  cachedAt?: number | null;
  /** The runner's snapshot folder, or null. */
  snapshotRoot: string | null;
  /** Whether to save to the Actions cache (where the service exists). */
  useActionsCache?: boolean;
  /** Save to the Actions cache whatever the checkout's source: a snapshot rebuild's whole point (sandbox/pool.ts). */
  refreshCache?: boolean;
  /** The session's jail: the checkout is cleaned inside it, as its owner. */
  jail?: Jail | null;
}

/**
 * At the end of a session, keep the checkout (dependencies installed) for the next one:
 * in the Actions cache when the checkout was cloned — the cache had none for this repository —
 * or came from a cache entry older than {@link CACHE_REFRESH_MS}, and then as the runner's
 * snapshot when there is a snapshot folder. Otherwise a checkout from the snapshot or the cache
 * is not uploaded again: saving thousands of files every session costs more than a later
 * fetch of what changed.
 */
export async function handBackCheckout(o: HandBackOptions): Promise<{ cached: boolean; snapshot: boolean }> {
  const stale = o.source === "cache" && o.cachedAt != null && Date.now() - o.cachedAt > CACHE_REFRESH_MS;
  const toCache = !!o.useActionsCache && (o.source === "clone" || stale || !!o.refreshCache);
  if (!toCache && !o.snapshotRoot) return { cached: false, snapshot: false };
  // Tracked files back to the commit, untracked leftovers gone; ignored files (dependencies) stay.
  // The session jail has ended by now: a fresh one (no token) does this.
  await discardChanges(o.dir, o.jail, true);
  let cached = false;
  if (toCache) cached = await saveToActionsCache(o.dir, o.owner, o.name, o.sha, o);
  const snapshot = o.snapshotRoot ? await returnSnapshot(o.dir, snapshotPath(o.snapshotRoot, o.owner, o.name)) : false;
  return { cached, snapshot };
}
