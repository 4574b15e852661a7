/**
 * Diffs for every change, from real OpenCode turns through the real control plane, sandbox and
 * git: the write tool over an existing file, a new file, a file deleted and a binary file made
 * with bash, a huge change capped; each turn's summary; the commit authored by the local
 * repository's own identity, and a repository without one refused at start.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionEvent } from "../../protocol/events.js";
import { textStep, toolStep } from "../support/model-server.js";
import {
  api,
  bareRepo,
  git,
  startHarness,
  waitForEvents,
  waitForStatus,
  type Harness,
} from "../support/sandbox-harness.js";
import { ofType } from "../support/wait.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ idleTimeoutSeconds: 2 });
});
afterAll(async () => {
  await h?.close();
});

const finished = (log: SessionEvent[]) => log.some((e) => e.type === "prompt.finished");
/** The latest file.edited per path: the file's diff as the turn left it. */
const latest = (log: SessionEvent[]) =>
  Object.fromEntries(ofType(log, "file.edited").map((e) => [e.data.path, e.data] as const));

describe("file diffs from real turns", () => {
  it("shows a diff for whatever changed a file — write over a file, a new file, bash deleting and making a binary — capped when huge", async () => {
    const repo = bareRepo(h.root, "diffs", {
      "src/math.js": "export const add = (a, b) => a + b;\nexport const sub = (a, b) => a - b;\n",
      "old.txt": "remove me\n",
      "README.md": "# demo\n",
    });
    const huge = Array.from({ length: 2_000 }, (_, i) => `row ${i}`).join("\n") + "\n";
    h.model.reset([
      toolStep({
        name: "write",
        args: {
          filePath: "src/math.js",
          content: "export const add = (a, b) => a + b;\nexport const mul = (a, b) => a * b;\n",
        },
      }),
      toolStep({ name: "write", args: { filePath: "notes/new.md", content: "# Notes\nfresh\n" } }),
      toolStep({
        name: "bash",
        args: { command: "rm old.txt && printf 'PNG\\000\\001\\002' > logo.png", description: "tidy up" },
      }),
      toolStep({ name: "write", args: { filePath: "data.csv", content: huge } }),
      textStep("Done: mul instead of sub, notes, logo, data."),
    ]);
    const { id } = await api<{ id: string }>(h, "POST", "/api/sessions", { repo, prompt: "Rework math.js" });
    const log = await waitForEvents(h, id, finished, 90_000);
    expect(ofType(log, "prompt.finished")[0]!.data.status).toBe("done");

    const files = latest(log);
    expect(files["src/math.js"]).toMatchObject({ change: "modified", additions: 1, deletions: 1 });
    expect(files["src/math.js"]!.diff).toBe(
      [
        "--- a/src/math.js",
        "+++ b/src/math.js",
        "@@ -1,2 +1,2 @@",
        " export const add = (a, b) => a + b;",
        "-export const sub = (a, b) => a - b;",
        "+export const mul = (a, b) => a * b;",
      ].join("\n"),
    );
    expect(files["notes/new.md"]).toMatchObject({ change: "added", additions: 2, deletions: 0 });
    expect(files["notes/new.md"]!.diff).toContain("+++ b/notes/new.md\n@@ -0,0 +1,2 @@\n+# Notes\n+fresh");
    expect(files["old.txt"]).toMatchObject({ change: "deleted", deletions: 1 });
    expect(files["old.txt"]!.diff).toContain("-remove me");
    expect(files["logo.png"]).toMatchObject({ change: "added", binary: true });
    expect(files["logo.png"]!.diff).toBeUndefined();
    expect(files["data.csv"]).toMatchObject({ change: "added", additions: 2_000, moreLines: 2_003 - 400 });
    expect(files["data.csv"]!.diff!.split("\n")).toHaveLength(400);

    // The write tool's edits arrive while the turn runs, before the model's closing words.
    const at = (pred: (e: SessionEvent) => boolean) => log.findIndex(pred);
    expect(at((e) => e.type === "file.edited" && e.data.path === "src/math.js")).toBeLessThan(
      at((e) => e.type === "agent.text"),
    );

    // The turn's summary comes before its commit and agrees with it.
    const summary = ofType(log, "files.changed")[0]!.data;
    expect(summary.files.map((f) => `${f.change} ${f.path} +${f.additions} -${f.deletions}`).sort()).toEqual([
      "added data.csv +2000 -0",
      "added logo.png +0 -0",
      "added notes/new.md +2 -0",
      "deleted old.txt +0 -1",
      "modified src/math.js +1 -1",
    ]);
    expect(at((e) => e.type === "files.changed")).toBeLessThan(at((e) => e.type === "git.commit"));
    const commit = ofType(log, "git.commit")[0]!.data;
    expect(commit.files).toBe(5);

    // Authored by the repository's own git identity; the sandbox left no index of its own behind.
    const branch = (await api(h, "GET", `/api/sessions/${id}`)).session.headBranch as string;
    expect(commit.author).toEqual({ name: "Dev Eloper", email: "dev@example.com" });
    expect(git(repo, "log", "-1", "--format=%an <%ae>", branch)).toBe("Dev Eloper <dev@example.com>");
    expect(git(repo, "show", "--stat", "--format=", branch)).not.toContain("inspect-turn.index");
    await waitForStatus(h, id, ["completed", "idle", "stopped", "failed"], 30_000);
  });

  it("refuses a local repository where git has no identity, saying how to set one", async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), "no-identity-home-"));
    const repo = bareRepo(h.root, "anonymous");
    git(repo, "config", "--unset", "user.name");
    git(repo, "config", "--unset", "user.email");
    mkdirSync(home, { recursive: true });
    const saved = { HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };
    process.env.HOME = home;
    process.env.GIT_CONFIG_NOSYSTEM = "1";
    try {
      const res = await fetch(`${h.url}/api/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ repo, prompt: "anything" }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain('git config --global user.name "Your Name"');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(home, { recursive: true, force: true });
    }
  });
});
