import { describe, expect, it } from "vitest";
import { findMention, isStopCommand, maskNonProse } from "./mention.js";

describe("findMention", () => {
  const yes = [
    ["@inspect fix the flaky test", "fix the flaky test"],
    ["Hey @Inspect, please add docs", ", please add docs"],
    ["(@inspect) do it", ") do it"],
    ["line one\n@INSPECT do X\n\nnext paragraph", "do X"],
    ["see ```code``` then @inspect go", "go"],
    // A blank line ends the quote: the mention after it is the commenter's own.
    ["> quote\n\n@inspect do X", "do X"],
    // An empty `>` line ends the quoted paragraph, so nothing continues lazily.
    [">\n@inspect do X", "do X"],
    // A list item interrupts the quoted paragraph and is not inside the quote.
    ["> quote\n- @inspect do X", "do X"],
    // A URL masks only itself; a mention after it still counts.
    ["see https://example.com/a?b=c @inspect do X", "do X"],
    // Autolinks cannot contain spaces: only the URL before the space is a link.
    ["<https://x.y/ @inspect do X>", "do X>"],
  ] as const;
  it.each(yes)("finds the mention in %j", (text, after) => {
    expect(findMention(text, "inspect")?.after).toBe(after);
  });

  const no = [
    "no mention here",
    "@inspector is someone else",
    "@inspect-bot is someone else",
    "mail me at bob@inspect.dev",
    "`@inspect do X` in inline code",
    "```\n@inspect do X\n```",
    "~~~md\n@inspect do X\n~~~",
    "> @inspect do X\n\nquoted only",
    "> > nested\n> @inspect do X",
    // Lazy continuation: Markdown renders these lines inside the quote.
    "> quoted\n@inspect do X",
    "> quoted\nmore quoted\n@inspect do X",
    "  > quoted\n    @inspect do X",
    // URLs: in each, the character before `@` would otherwise allow a mention.
    "see https://example.com/?q=a+@inspect+do",
    "https://example.com/x?u=%20&to=@inspect",
    "https://example.com/#@inspect",
    "<https://x.y/a)@inspect>",
    "<xmpp:@inspect>",
    "<!-- @inspect do X -->",
    "text\n\n    @inspect indented code",
    "",
  ];
  it.each(no)("ignores %j", (text) => {
    expect(findMention(text, "inspect")).toBeNull();
  });

  it("uses the configured handle", () => {
    expect(findMention("@robo do it", "robo")?.after).toBe("do it");
    expect(findMention("@inspect do it", "robo")).toBeNull();
  });

  it("keeps offsets when masking", () => {
    const text = "a `b` ```\nc\n``` @x";
    expect(maskNonProse(text)).toHaveLength(text.length);
  });
});

describe("isStopCommand", () => {
  it.each(["stop", "Stop.", "please stop", "cancel!", "abort"])("%j stops", (t) => expect(isStopCommand(t)).toBe(true));
  it.each(["stop the flaky test from failing", "don't stop", "fix it"])("%j does not", (t) =>
    expect(isStopCommand(t)).toBe(false),
  );
});
