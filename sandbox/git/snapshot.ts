/**
 * Where a checkout comes from, fastest first: the runner's persistent snapshot folder (a
 * previous session's checkout with dependencies installed), the Actions cache where that
 * service exists, else a fresh clone. `@actions/cache` resolves `undefined` (restore) or `-1`
 * (save) when there is no cache service; both are a miss, never an error.
 *
 * A snapshot is moved, not copied: copying tens of thousands of dependency files costs
 * seconds, a rename costs nothing. The session takes the snapshot and puts its checkout
 * back when it ends; a session running meanwhile on the same runner finds none and clones.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export function snapshotPath(root: string, owner: string, name: string): string {
  const safe = (s: string) => s.replace(/[^\w.-]/g, "_");
  return path.join(root, safe(owner), safe(name));
}

export function hasSnapshot(snapshot: string): boolean {
  return existsSync(path.join(snapshot, ".git", "HEAD"));
}

/** Copy a folder tree, sharing blocks where the file system can (reflink), else a plain copy. */
export async function copyTree(from: string, to: string): Promise<void> {
  mkdirSync(path.dirname(to), { recursive: true });
  await run("cp", ["-a", "--reflink=auto", from, to]);
}

/** Move (or, across file systems, copy) the snapshot to `dir`. False when there is none. */
export async function restoreSnapshot(snapshot: string, dir: string): Promise<boolean> {
  if (!hasSnapshot(snapshot)) return false;
  mkdirSync(path.dirname(dir), { recursive: true });
  try {
    renameSync(snapshot, dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await copyTree(snapshot, dir);
  }
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

export function cacheKeyPrefix(owner: string, name: string): string {
  return `inspect-checkout-${owner}-${name}-`;
}

async function actionsCache() {
  try {
    const cache = await import("@actions/cache");
    return cache.isFeatureAvailable() ? cache : null;
  } catch {
    return null;
  }
}

export async function restoreFromActionsCache(dir: string, owner: string, name: string): Promise<boolean> {
  const cache = await actionsCache();
  if (!cache) return false;
  try {
    const prefix = cacheKeyPrefix(owner, name);
    const hit = await cache.restoreCache([dir], `${prefix}latest`, [prefix]);
    return hit !== undefined && existsSync(path.join(dir, ".git", "HEAD"));
  } catch {
    return false;
  }
}

export async function saveToActionsCache(dir: string, owner: string, name: string, sha: string): Promise<boolean> {
  const cache = await actionsCache();
  if (!cache) return false;
  try {
    const id = await cache.saveCache([dir], `${cacheKeyPrefix(owner, name)}${sha}`);
    return id !== -1;
  } catch {
    return false;
  }
}
