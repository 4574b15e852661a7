import { describe, expect, it } from "vitest";
import { safeReturnTo } from "./cookies.js";

describe("safeReturnTo", () => {
  it("keeps a path on this site, query and fragment included", () => {
    expect(safeReturnTo("/sessions/abc?x=1#top")).toBe("/sessions/abc?x=1#top");
    expect(safeReturnTo("/")).toBe("/");
  });

  it("sends everything that could leave the site home", () => {
    for (const evil of [
      "//evil.test",
      "/\\evil.test",
      "/\t/evil.test",
      "/\n/evil.test",
      "https://evil.test",
      "evil.test",
      "/\\/evil.test",
      "",
      undefined,
    ]) {
      expect(safeReturnTo(evil), JSON.stringify(evil)).toBe("/");
    }
  });

  it("leaves an encoded tab encoded (it stays a path here)", () => {
    expect(safeReturnTo("/%09/evil.test")).toBe("/%09/evil.test");
  });
});
