/**
 * Finding `@handle` in Markdown the way a reader would: a mention inside a code
 * block, an inline code span, a block quote, an HTML comment or a URL is not a
 * mention (quoting someone's "@inspect do X" must not trigger anything).
 */

/** Replace the parts of Markdown that cannot carry a mention with spaces (keeps offsets). */
export function maskNonProse(markdown: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  let text = markdown.replace(/\r\n?/g, "\n");
  text = text.replace(/<!--[\s\S]*?(-->|$)/g, blank);
  // Fenced code blocks: ``` or ~~~ (3+), closed by the same fence or the end of the text.
  text = text.replace(/^( {0,3})(`{3,}|~{3,})[^\n]*\n[\s\S]*?(^\1?\2[`~]*[ \t]*$|(?![\s\S]))/gm, blank);
  // Indented code blocks (4 spaces or a tab after a blank line or at the start).
  text = text.replace(
    /(^|\n\n)((?:(?: {4}|\t)[^\n]*(?:\n|$))+)/g,
    (_m, lead: string, block: string) => lead + blank(block),
  );
  // Block quotes, with the lazy continuation lines of a quoted paragraph.
  text = maskBlockQuotes(text, blank);
  // Inline code spans (matching backtick runs).
  text = text.replace(/(`+)[^`]*?\1/g, blank);
  // URLs and autolinks.
  text = text.replace(/<[a-z][\w+.-]*:[^>\s]*>/gi, blank);
  text = text.replace(/\b[a-z][\w+.-]*:\/\/[^\s)>\]]+/gi, blank);
  return text;
}

/** A line that starts a block able to interrupt a paragraph (so it is not a lazy continuation). */
const INTERRUPTS = /^ {0,3}(#{1,6}(\s|$)|`{3,}|~{3,}|([-*_])([ \t]*\3){2,}[ \t]*$|[-+*][ \t]+\S|1[.)][ \t]+\S)/;

/**
 * Mask `>` lines, and the lines Markdown renders inside the quote without a `>`:
 * "> quoted\n@inspect do X" is one quoted paragraph (a lazy continuation) until a
 * blank line or a line that starts another block.
 */
function maskBlockQuotes(text: string, blank: (s: string) => string): string {
  const lines = text.split("\n");
  let paragraph = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^ {0,3}>/.test(line)) {
      // Only a quoted paragraph continues lazily; an empty `>` line, a heading or a fence does not.
      const content = line.replace(/^(?: {0,3}>[ \t]?)+/, "");
      paragraph = /\S/.test(content) && !INTERRUPTS.test(content) && !/^(?: {4}|\t)/.test(content);
      lines[i] = blank(line);
    } else if (paragraph && /\S/.test(line) && !INTERRUPTS.test(line)) {
      lines[i] = blank(line);
    } else {
      paragraph = false;
    }
  }
  return lines.join("\n");
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export interface Mention {
  /** Offset of the `@` in the original text. */
  index: number;
  /** The text after the mention up to the end of its paragraph, trimmed. */
  after: string;
}

/** The first real mention of `@handle` (case-insensitive, on word boundaries), or null. */
export function findMention(markdown: string | null | undefined, handle: string): Mention | null {
  if (!markdown) return null;
  const masked = maskNonProse(markdown);
  const re = new RegExp(`(^|[^\\w@/.\`-])@${escapeRegExp(handle)}(?![\\w-])`, "i");
  const m = re.exec(masked);
  if (!m) return null;
  const index = m.index + m[1]!.length;
  const original = markdown.replace(/\r\n?/g, "\n");
  const rest = original.slice(index + handle.length + 1);
  const after = rest.split(/\n\s*\n/)[0]!.trim();
  return { index, after };
}

/** `@inspect stop` (optionally with punctuation or "please") is a stop command. */
export function isStopCommand(after: string): boolean {
  return /^(please\s+)?(stop|cancel|abort)(\s+please)?[.!]*$/i.test(after.trim());
}
