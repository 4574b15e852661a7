/**
 * Nobody is there to click "allow": every permission OpenCode asks for is answered by policy
 * so a turn never blocks. Inside the checkout: allow. Anything that names a path outside
 * the checkout, and OpenCode's doom-loop guard: reject.
 *
 * Reads before sync: a pooled sandbox (sandbox/pool.ts) starts its first prompt while its
 * checkout is still being brought to the session's branch. Its OpenCode asks before every edit
 * and command; those answers wait here until the sync is done, reads are never held.
 */
import path from "node:path";

export interface PermissionAsk {
  permission: string;
  patterns?: string[];
  metadata?: Record<string, unknown>;
}

export type PermissionAnswer = "once" | "reject";

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(path.resolve(root), path.resolve(root, candidate));
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

function pathsOf(ask: PermissionAsk): string[] {
  const found: string[] = [];
  for (const key of ["filepath", "filePath", "path", "parentDir"]) {
    const value = ask.metadata?.[key];
    if (typeof value === "string" && value) found.push(value);
  }
  for (const pattern of ask.patterns ?? []) {
    // Path patterns look like "/abs/dir/*"; bash patterns are commands and are not paths.
    if (pattern.startsWith("/") || pattern.startsWith("~")) found.push(pattern.replace(/\/?\*+$/, "") || "/");
  }
  return found;
}

export function decidePermission(checkout: string, ask: PermissionAsk): PermissionAnswer {
  if (ask.permission === "external_directory" || ask.permission === "doom_loop") return "reject";
  for (const p of pathsOf(ask)) {
    if (p.startsWith("~") || !isInside(checkout, p)) return "reject";
  }
  return "once";
}

/**
 * Said with a refusal: OpenCode ends the whole turn on a bare "reject", but carries on when
 * the refusal comes with a reason, which the model reads as the tool's error.
 */
export function refusalReason(ask: PermissionAsk): string {
  if (ask.permission === "doom_loop") return "Refused: the same call keeps repeating. Try a different approach.";
  return "Refused by the sandbox: only paths inside the repository checkout may be read or written. Carry on inside the repository.";
}

/** Permissions that change the checkout or run code (OpenCode's `edit` covers write and patch). */
const WRITES = new Set(["edit", "write", "patch", "multiedit", "bash"]);

/** This process's one session's sync, while it runs (null: nothing to wait for). */
let syncing: Promise<string | null> | null = null;

/** Hold every write and command until `synced` settles; if it fails they are refused with why. */
export function holdWritesUntil(synced: Promise<unknown>): void {
  syncing = synced.then(
    () => null,
    (error: Error) =>
      `Refused: the checkout could not be brought up to date (${error.message}); nothing may be changed.`,
  );
}

/** Settles when writes may go ahead (or are refused for good): at once outside a pooled sandbox's sync. */
export function writesSynced(): Promise<unknown> {
  return syncing ?? Promise.resolve();
}

/** Null once the ask may be decided; a refusal's reason when the sync it waited for failed. */
export async function writesSettled(ask: PermissionAsk): Promise<string | null> {
  if (!syncing || !WRITES.has(ask.permission)) return null;
  return syncing;
}
