import { describe, expect, it } from "vitest";
import { sessionBranch, slugify, titleLine } from "./branch.js";

describe("branch naming", () => {
  it("makes inspect/<number>-<slug>", () => {
    expect(sessionBranch(42, "Fix the flaky `login` test!")).toBe("inspect/42-fix-the-flaky-login-test");
  });
  it("folds accents, trims length and never ends with a dash", () => {
    expect(slugify("Ça marche très bien, merci beaucoup pour tout ça vraiment")).toBe(
      "ca-marche-tres-bien-merci-beaucoup-pour",
    );
    expect(slugify("a".repeat(39) + " b")).toBe("a".repeat(39));
  });
  it("falls back when nothing is left", () => {
    expect(sessionBranch(7, "🔥🔥")).toBe("inspect/7-session");
  });
  it("makes one-line titles", () => {
    expect(titleLine("  fix\n the   bug ")).toBe("fix the bug");
    expect(titleLine("x".repeat(100))).toHaveLength(72);
  });
});
