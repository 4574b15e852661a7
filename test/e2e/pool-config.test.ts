/**
 * A pooled sandbox reads the repository's `.inspect/config.yml` from the base branch as the
 * session's sync fetched it, not as it was when the pool warmed: a budget pushed to main after
 * the pool prepared its sandbox is the one enforced. The real control plane with
 * INSPECT_POOL_SIZE=1, pooled runners from the local dispatcher, the real OpenCode, the scripted
 * model priced as in usage-budgets.test.ts ($0.0006 a call).
 *
 * The config comes with 4,000 other files and 96 MiB of random bytes in the same commit, so the
 * sync takes a while: a reader that did not wait for it reads the stale base branch (no budget)
 * and lets the endless turn run to its end — checked: without the wait this test fails.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolSlots } from "../../app/db/schema.js";
import type { SessionEvent } from "../../protocol/events.js";
import { delayStep, textStep, toolStep, type ModelStep } from "../support/model-server.js";
import {
  api,
  bareRepo,
  git,
  startHarness,
  waitForEvents,
  waitForNoProcesses,
  waitForStatus,
  type Harness,
} from "../support/sandbox-harness.js";
import { ofType, until } from "../support/wait.js";

const PRICED = "priced/priced-model";
const finished = (n: number) => (log: SessionEvent[]) => ofType(log, "prompt.finished").length >= n;
const endless = (prefix: string): ModelStep[] =>
  Array.from({ length: 30 }, (_, i) =>
    delayStep(800, toolStep({ name: "write", args: { filePath: `${prefix}-${i}.txt`, content: `${i}\n` } })),
  );

describe("a pooled sandbox and .inspect/config.yml", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      idleTimeoutSeconds: 2,
      providers: (model) => ({
        ...model.opencodeProvider(),
        ...model.opencodeProvider("priced", "priced-model", { input: 3, output: 15 }),
      }),
      env: { INSPECT_POOL_SIZE: "1", INSPECT_POOL_MAX: "1" },
    });
  });
  afterAll(async () => {
    await h?.close();
    expect(await waitForNoProcesses(h.root, 15_000)).toEqual([]);
  });

  it("enforces the budget pushed to main after the pool warmed", async () => {
    const bare = bareRepo(h.root, "pooled-config", {
      "README.md": "# pooled\n",
      ".inspect/config.yml": "budgets:\n  prompt_usd: 100\n",
    });
    // A first session makes the repository active; the pool then warms a sandbox for it.
    h.model.reset([textStep("First.")]);
    const first = (await api<{ id: string }>(h, "POST", "/api/sessions", { repo: bare, prompt: "Say hello" })).id;
    await waitForEvents(h, first, finished(1), 90_000);
    await waitForStatus(h, first, ["completed"], 30_000);
    const slot = await until(
      "a ready pooled sandbox",
      async () => (await h.inspect.database.db.select().from(poolSlots)).find((s) => s.state === "ready"),
      120_000,
    );

    // Now main lowers the prompt cap to $0.001 (two calls), in a commit that is slow to sync.
    const work = path.join(h.root, "push");
    git(h.root, "clone", "-q", bare, work);
    mkdirSync(path.join(work, "big"), { recursive: true });
    for (let i = 0; i < 4_000; i++) writeFileSync(path.join(work, "big", `f${i}.txt`), `${i}\n`);
    writeFileSync(path.join(work, "big", "blob.bin"), randomBytes(96 * 1024 * 1024)); // incompressible
    writeFileSync(path.join(work, ".inspect", "config.yml"), "budgets:\n  prompt_usd: 0.001\n");
    git(work, "add", "-A");
    git(work, "-c", "user.name=Other", "-c", "user.email=other@example.com", "commit", "-q", "-m", "lower the cap");
    git(work, "push", "-q", "origin", "main");

    h.model.reset(endless("p"));
    const second = (
      await api<{ id: string }>(h, "POST", "/api/sessions", {
        repo: bare,
        prompt: "Write files forever",
        model: PRICED,
      })
    ).id;
    const log = await waitForEvents(h, second, finished(1), 120_000);
    const [taken] = (await h.inspect.database.db.select().from(poolSlots)).filter((s) => s.id === slot.id);
    expect(taken).toMatchObject({ sessionId: second });
    const done = ofType(log, "prompt.finished")[0]!.data;
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/This prompt reached its budget of \$0\.001 \(\.inspect\/config\.yml\)/);
    // The first turn does not wait for the sync (its reads overlap it): the cap applies once the
    // synced file is read, a few calls in at most — far from the script's 30.
    expect(h.model.stepRequests.length).toBeLessThan(15);
    await api(h, "POST", `/api/sessions/${second}/stop`).catch(() => undefined);
    await waitForStatus(h, second, ["completed", "stopped", "failed"], 30_000);
  }, 360_000);
});
