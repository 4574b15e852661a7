/**
 * Nobody is there to click "allow": every permission OpenCode asks for is answered by policy
 * so a turn never blocks. Inside the checkout: allow. Anything that names a path outside
 * the checkout, and OpenCode's doom-loop guard: reject.
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
