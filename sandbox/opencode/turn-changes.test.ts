import { existsSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewEvent } from "../../protocol/events.js";
import { git } from "../../test/support/git.js";
import { TurnChanges } from "./turn-changes.js";

let dir: string;
let events: NewEvent[];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "turn-changes-"));
  git(dir, "init", "-q", "-b", "main");
  writeFileSync(path.join(dir, "math.js"), "export const add = (a, b) => a + b;\nexport const one = 1;\n");
  writeFileSync(path.join(dir, "old.txt"), "bye\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "initial");
  events = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const edits = () => events.filter((e) => e.type === "file.edited").map((e) => e.data);
const summary = () => events.find((e) => e.type === "files.changed")?.data;

describe("a turn's file changes", () => {
  it("diffs every change against the start of the turn: overwritten, new, deleted, binary", async () => {
    const changes = new TurnChanges(dir, null, (e) => events.push(...e));
    await changes.start();
    writeFileSync(path.join(dir, "math.js"), "export const add = (a, b) => a + b;\nexport const two = 2;\n");
    writeFileSync(path.join(dir, "new.txt"), "fresh\n");
    unlinkSync(path.join(dir, "old.txt"));
    writeFileSync(path.join(dir, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]));
    await changes.finish();

    const byPath = Object.fromEntries(edits().map((d) => [d.path, d]));
    expect(byPath["math.js"]).toMatchObject({ change: "modified", additions: 1, deletions: 1 });
    expect(byPath["math.js"]!.diff).toContain("-export const one = 1;\n+export const two = 2;");
    expect(byPath["new.txt"]).toMatchObject({ change: "added", additions: 1, deletions: 0 });
    expect(byPath["new.txt"]!.diff).toBe("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,1 @@\n+fresh");
    expect(byPath["old.txt"]).toMatchObject({ change: "deleted", deletions: 1 });
    expect(byPath["old.txt"]!.diff).toContain("+++ /dev/null\n@@ -1,1 +0,0 @@\n-bye");
    expect(byPath["logo.png"]).toEqual({ path: "logo.png", change: "added", additions: 0, deletions: 0, binary: true });
    expect(summary()!.files.map((f) => `${f.path} ${f.change} +${f.additions} -${f.deletions}`)).toEqual([
      "logo.png added +0 -0",
      "math.js modified +1 -1",
      "new.txt added +1 -0",
      "old.txt deleted +0 -1",
    ]);
    // Our index is gone; the real one was never touched.
    expect(existsSync(path.join(dir, ".git", "inspect-turn.index"))).toBe(false);
    expect(git(dir, "diff", "--cached", "--name-only")).toBe("");
  });

  it("caps a huge change and counts what it left out", async () => {
    const changes = new TurnChanges(dir, null, (e) => events.push(...e));
    await changes.start();
    const lines = Array.from({ length: 3_000 }, (_, i) => `line ${i}`).join("\n");
    writeFileSync(path.join(dir, "big.txt"), `${lines}\n`);
    await changes.finish();
    const big = edits().find((d) => d.path === "big.txt")!;
    expect(big.additions).toBe(3_000);
    expect(big.diff!.split("\n")).toHaveLength(400);
    expect(big.moreLines).toBe(3_000 + 3 - 400); // two file headers and one hunk header
  });

  it("keeps a turn's diffs within 1 MiB: past that, files are named and counted", async () => {
    const changes = new TurnChanges(dir, null, (e) => events.push(...e));
    await changes.start();
    const page = Array.from({ length: 390 }, (_, i) => `${i} ${"z".repeat(150)}`).join("\n") + "\n";
    for (let i = 0; i < 25; i++) writeFileSync(path.join(dir, `f${String(i).padStart(2, "0")}.txt`), page);
    await changes.finish();
    const sent = edits();
    expect(sent).toHaveLength(25);
    const withDiff = sent.filter((d) => d.diff);
    expect(withDiff.length).toBeGreaterThan(10);
    expect(withDiff.length).toBeLessThan(25);
    expect(withDiff.reduce((n, d) => n + d.diff!.length, 0)).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    expect(sent.at(-1)).toMatchObject({ additions: 390, moreLines: 390 });
  });

  it("sends a file while the turn runs, again only when it changed, and diffs against the start even after the agent commits", async () => {
    const changes = new TurnChanges(dir, null, (e) => events.push(...e));
    await changes.start();
    writeFileSync(path.join(dir, "new.txt"), "one\n");
    await changes.edited("new.txt");
    await changes.edited("new.txt");
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "the agent commits on its own");
    writeFileSync(path.join(dir, "new.txt"), "one\ntwo\n");
    await changes.finish();
    expect(edits().map((d) => d.diff)).toEqual([
      "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,1 @@\n+one",
      "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+one\n+two",
    ]);
  });

  it("shows a symlink as its target's name, never what it points to", async () => {
    const changes = new TurnChanges(dir, null, (e) => events.push(...e));
    await changes.start();
    writeFileSync(path.join(os.tmpdir(), `secret-${process.pid}`), "TOP SECRET\n");
    symlinkSync(path.join(os.tmpdir(), `secret-${process.pid}`), path.join(dir, "leak"));
    await changes.finish();
    rmSync(path.join(os.tmpdir(), `secret-${process.pid}`));
    const leak = edits().find((d) => d.path === "leak")!;
    expect(leak.diff).toContain(`+${path.join(os.tmpdir(), `secret-${process.pid}`)}`);
    expect(JSON.stringify(events)).not.toContain("TOP SECRET");
  });

  it("without git, still names the edited files", async () => {
    const plain = mkdtempSync(path.join(os.tmpdir(), "no-git-"));
    const log: string[] = [];
    const changes = new TurnChanges(
      plain,
      null,
      (e) => events.push(...e),
      (l) => log.push(l),
    );
    await changes.start();
    changes.edited("a.txt");
    await changes.finish();
    rmSync(plain, { recursive: true, force: true });
    expect(events).toEqual([{ type: "file.edited", data: { path: "a.txt" } }]);
    expect(log[0]).toContain("file diffs are off");
  });
});
