/** Session branch names: `inspect/<number>-<slug>` for threads, `inspect/<id>-<slug>` otherwise. */
export function slugify(title: string, max = 40): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const cut = slug.slice(0, max).replace(/-+$/, "");
  return cut || "session";
}

export function sessionBranch(ref: number | string, title: string): string {
  return `inspect/${ref}-${slugify(title)}`;
}

/** One line for a commit subject or PR title. */
export function titleLine(text: string, max = 72): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
}

/** A title from a prompt: its first line with the @mention removed. */
export function promptTitle(text: string, fallback: string): string {
  const line = text
    .split("\n")
    .map((l) =>
      l
        .replace(/@[\w-]+/g, "")
        .replace(/\s+/g, " ")
        .trim(),
    )
    .find((l) => l.length > 0);
  return titleLine(line ?? fallback);
}

/**
 * The first of `name`, `name-2`, `name-3`… that does not exist: a second session on an issue
 * whose old branch is still there (its PR closed unmerged, or squash-merged) gets a branch of
 * its own instead of a push rejected for ever.
 */
export async function freeBranch(
  name: string,
  exists: (branch: string) => Promise<boolean>,
  tries = 20,
): Promise<string> {
  for (let i = 1; i <= tries; i++) {
    const candidate = i === 1 ? name : `${name}-${i}`;
    if (!(await exists(candidate))) return candidate;
  }
  throw new Error(`branches ${name} to ${name}-${tries} all exist; delete some old ones`);
}
