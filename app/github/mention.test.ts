import { describe, expect, it } from "vitest";
import { findMention, isStopCommand, maskNonProse } from "./mention.js";

describe("findMention", () => {
  const yes = [
    ["@inspect fix the flaky test", "fix the flaky test"],
    ["Hey @Inspect, please add docs", ", please add docs"],
    ["(@inspect) do it", ") do it"],
    ["line one\n@INSPECT do X\n\nnext paragraph", "do X"],
    ["see ```code``` then @inspect go", "go"],
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
    "https://github.com/@inspect/do",
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
  it.each(["stop the flaky test from failing", "don't stop", "fix it"])("%j does not", (t) => expect(isStopCommand(t)).toBe(false));
});
