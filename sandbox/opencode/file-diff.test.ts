import { describe, expect, it } from "vitest";
import { fileEdit } from "./file-diff.js";

describe("one file's diff", () => {
  it("is a unified diff with git's headers and ranges", () => {
    const edit = fileEdit({
      path: "src/a.js",
      change: "modified",
      before: "1\n2\n3\n4\n5\n",
      after: "1\n2\nthree\n4\n5\n",
      additions: 1,
      deletions: 1,
    });
    expect(edit.diff).toBe("--- a/src/a.js\n+++ b/src/a.js\n@@ -1,5 +1,5 @@\n 1\n 2\n-3\n+three\n 4\n 5");
    expect(edit.moreLines).toBeUndefined();
  });

  it("caps lines and bytes, and counts the rest", () => {
    const after = Array.from({ length: 50 }, (_, i) => `x${i}`).join("\n") + "\n";
    const byLines = fileEdit(
      { path: "f", change: "added", after, additions: 50, deletions: 0 },
      { lines: 10, bytes: 1e6 },
    );
    expect(byLines.diff!.split("\n")).toHaveLength(10);
    expect(byLines.moreLines).toBe(53 - 10);
    const byBytes = fileEdit(
      { path: "f", change: "added", after, additions: 50, deletions: 0 },
      { lines: 1e6, bytes: 40 },
    );
    expect(Buffer.byteLength(byBytes.diff!)).toBeLessThanOrEqual(40);
    expect(byBytes.moreLines).toBeGreaterThan(40);
  });

  it("cuts a very long line", () => {
    const edit = fileEdit({ path: "min.js", change: "added", after: "y".repeat(5_000), additions: 1, deletions: 0 });
    expect(edit.diff!.split("\n")[3]).toHaveLength(1_001);
  });

  it("names a binary file without a diff, and counts a file whose content was not read", () => {
    expect(fileEdit({ path: "a.png", change: "added", binary: true, additions: 0, deletions: 0 })).toEqual({
      path: "a.png",
      change: "added",
      additions: 0,
      deletions: 0,
      binary: true,
    });
    expect(fileEdit({ path: "huge.csv", change: "modified", additions: 70_000, deletions: 2 }).moreLines).toBe(70_002);
  });
});
