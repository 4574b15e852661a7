/**
 * A snapshot rebuild in `actions` mode: the real control plane (INSPECT_RUNNER=actions, no pooled
 * sandboxes but room for one job, the repository always active), GitHub faked at HTTP by the fake
 * GitHub Enterprise host, the bundled action run as a runner runs it. The control plane dispatches
 * a job with a slot whose purpose is `rebuild`; the job claims it with its OIDC token, brings the
 * checkout to the newest default branch with a read-only token, hands it back as the snapshot and
 * leaves — no OpenCode, no session.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolSlots } from "../../app/db/schema.js";
import { runActionJob } from "../support/action-job.js";
import { startActionsStack, type ActionsStack } from "../support/actions-stack.js";
import { deliver } from "../support/inspect.js";
import { startTokenService, type TokenService } from "../support/oidc-issuer.js";
import { issueComment } from "../support/payloads.js";
import { jobClaims } from "../support/runner-client.js";
import { git, processesMentioning } from "../support/sandbox-harness.js";

const AUDIENCE = "https://inspect.test";

describe("a snapshot rebuild in actions mode, against a fake GitHub Enterprise host", () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "inspect-action-rebuild-"));
  let stack: ActionsStack;
  let tokens: TokenService | null = null;

  beforeAll(async () => {
    stack = await startActionsStack(
      work,
      { "README.md": "# widgets\n" },
      { INSPECT_POOL_SIZE: "0", INSPECT_POOL_MAX: "1", INSPECT_POOL_REPOS: "acme/widgets" },
    );
  });

  afterAll(async () => {
    await tokens?.close();
    await stack?.close();
    const left = processesMentioning(work);
    rmSync(work, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it("the job claims the rebuild slot with its OIDC token, hands back the newest main as the snapshot, and leaves without OpenCode", async () => {
    const { bare, fake, issuer, db, inspect, controlPlane } = stack;
    // The repository is known once a comment names it (its session's own job is never run here).
    expect(
      (await deliver(inspect, "issue_comment", issueComment("@inspect hello", { issue: 1, login: "alice" }))).status,
    ).toBe(200);
    await inspect.tasks.drain();
    const main = git(bare, "rev-parse", "refs/heads/main");

    expect(await inspect.pool.rebuildSnapshots()).toBe(1);
    const dispatch = fake.dispatches.find((d) => "slot_id" in d.inputs)!;
    expect(Object.keys(dispatch.inputs).sort()).toEqual(["control_plane_url", "slot_id"]);
    const slotId = String(dispatch.inputs.slot_id);
    const slot = async () => (await db.db.select().from(poolSlots).where(eq(poolSlots.id, slotId)))[0]!;
    expect(await slot()).toMatchObject({ state: "starting", purpose: "rebuild", githubRunId: dispatch.runId });

    tokens = await startTokenService(issuer, "request-token", (aud) => jobClaims(dispatch.runId, { aud }));
    const snapshots = path.join(work, "snapshots");
    const { code, output } = await runActionJob({
      "INPUT_SLOT-ID": slotId,
      "INPUT_CONTROL-PLANE-URL": controlPlane,
      "INPUT_SNAPSHOT-DIR": snapshots,
      INPUT_AUDIENCE: AUDIENCE,
      ACTIONS_ID_TOKEN_REQUEST_URL: tokens.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
      RUNNER_TEMP: mkdtempSync(path.join(work, "runner-temp-")),
    });

    expect(code, output).toBe(0);
    expect(output).toContain(`claimed pool slot ${slotId} (acme/widgets at main) to rebuild its snapshot`);
    expect(output).toContain("snapshot ready; handing it back");
    // Every line OpenCode prints is in the runner's log ("opencode: …"): it never started.
    expect(output).not.toContain("opencode server listening");
    expect(await slot()).toMatchObject({ state: "ended", endReason: "snapshot rebuilt", sessionId: null });
    // The snapshot is main as it is now, fetched with a read-only token: nothing was written.
    // (The checkout belongs to the sandbox user it was prepared as: git asks us to trust it.)
    expect(git(path.join(snapshots, "acme", "widgets"), "-c", "safe.directory=*", "rev-parse", "HEAD")).toBe(main);
    const repoTokens = fake.tokens.filter((t) => t.body.repositories);
    expect(repoTokens.map((t) => t.body.permissions.contents)).toEqual(["read"]);
  }, 120_000);
});
