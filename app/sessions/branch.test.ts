import { describe, expect, it } from "vitest";
import { freeBranch, sessionBranch, slugify, titleLine } from "./branch.js";

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

describe("freeBranch", () => {
  it("keeps a free name, numbers a taken one, and gives up after the tries", async () => {
    const taken = new Set(["inspect/7-fix", "inspect/7-fix-2"]);
    const exists = async (b: string) => taken.has(b);
    expect(await freeBranch("inspect/8-new", exists)).toBe("inspect/8-new");
    expect(await freeBranch("inspect/7-fix", exists)).toBe("inspect/7-fix-3");
    await expect(freeBranch("inspect/7-fix", exists, 2)).rejects.toThrow(/all exist/);
  });
});
