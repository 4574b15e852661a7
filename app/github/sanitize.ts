/**
 * Text from issues, PRs and comments is data, not instructions. Before it
 * reaches the agent we remove what a human reviewer cannot see (HTML comments,
 * zero-width and bidi control characters) and fence it, labelled as untrusted.
 */

// Zero-width, joiners, word joiner, BOM, soft hyphen, bidi embeddings/overrides/isolates, tag characters.
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]|\uDB40[\uDC00-\uDC7F]/g;

export function stripHidden(text: string): string {
  return text
    .replace(/<!--[\s\S]*?(-->|$)/g, "")
    .replace(INVISIBLE, "")
    .replace(/\r\n?/g, "\n");
}

/** A fence longer than any backtick run inside, so the content cannot close it. */
export function fenceUntrusted(label: string, text: string): string {
  const clean = stripHidden(text).trim();
  const longest = Math.max(2, ...[...clean.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `<untrusted-data source="${label.replace(/["<>]/g, "")}">\n${fence}text\n${clean}\n${fence}\n</untrusted-data>`;
}
