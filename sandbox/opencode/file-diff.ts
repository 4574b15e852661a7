/**
 * One file's change as the page shows it: a unified diff (jsdiff) of the file before the turn
 * against the file now, capped so one huge change cannot bloat the event log — the rest is
 * counted ("n more lines") and the commit has it all.
 */
import { structuredPatch } from "diff";
import type { EventDataOf, FileChange } from "../../protocol/events.js";

export type FileEdit = EventDataOf<"file.edited"> & { change: FileChange; additions: number; deletions: number };

export interface DiffLimits {
  /** Diff lines shown per file. */
  lines: number;
  /** Diff bytes shown per file. */
  bytes: number;
}

export const DIFF_LIMITS: DiffLimits = { lines: 400, bytes: 64 * 1024 };
/** A single line longer than this (minified code, data) is cut. */
const LINE_MAX = 1_000;
/** Myers' diff is O(N·D): past this, show no diff rather than stall the turn. */
const DIFF_TIMEOUT_MS = 1_000;

export interface FileVersions {
  path: string;
  change: FileChange;
  /** Content before the turn (absent for an added file). */
  before?: string;
  /** Content now (absent for a deleted file). */
  after?: string;
  binary?: boolean;
  /** Line counts as git counts them (numstat). */
  additions: number;
  deletions: number;
}

export function fileEdit(v: FileVersions, limits: DiffLimits = DIFF_LIMITS): FileEdit {
  const base: FileEdit = { path: v.path, change: v.change, additions: v.additions, deletions: v.deletions };
  if (v.binary) return { ...base, binary: true };
  if (v.before === undefined && v.after === undefined) return { ...base, moreLines: v.additions + v.deletions };
  const patch = structuredPatch(
    v.change === "added" ? "/dev/null" : `a/${v.path}`,
    v.change === "deleted" ? "/dev/null" : `b/${v.path}`,
    v.before ?? "",
    v.after ?? "",
    undefined,
    undefined,
    { context: 3, timeout: DIFF_TIMEOUT_MS },
  );
  if (!patch) return { ...base, moreLines: v.additions + v.deletions };
  const lines = [`--- ${patch.oldFileName}`, `+++ ${patch.newFileName}`];
  for (const hunk of patch.hunks) {
    lines.push(`@@ -${range(hunk.oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@`);
    lines.push(...hunk.lines);
  }
  return { ...base, ...capped(lines, limits) };
}

/** git's hunk range: "start,count", with start 0 for an empty side. */
function range(start: number, count: number): string {
  return `${count === 0 ? start - 1 : start},${count}`;
}

function capped(lines: string[], limits: DiffLimits): { diff: string; moreLines?: number } {
  const kept: string[] = [];
  let bytes = 0;
  for (const raw of lines) {
    const line = raw.length > LINE_MAX ? `${raw.slice(0, LINE_MAX)}…` : raw;
    bytes += Buffer.byteLength(line) + 1;
    if (kept.length >= limits.lines || bytes > limits.bytes) break;
    kept.push(line);
  }
  const more = lines.length - kept.length;
  return { diff: kept.join("\n"), ...(more > 0 ? { moreLines: more } : {}) };
}
