import { describe, expect, it } from "vitest";
import { desiredCheck } from "./check-runs.js";
import { statusCommentBody } from "./status-comment.js";

describe("the check run's conclusion", () => {
  it("fails an idle session whose last turn failed, from the turn's outcome (not the reason's wording)", () => {
    expect(desiredCheck({ status: "idle", statusReason: "the prompt failed: model said 400" }, "failed")).toEqual({
      working: false,
      conclusion: "failure",
      title: "The prompt failed: model said 400",
    });
    expect(desiredCheck({ status: "idle", statusReason: "the prompt failed: looks alike" }, "done")).toMatchObject({
      conclusion: "success",
    });
    expect(desiredCheck({ status: "idle", statusReason: null }, "stopped")).toMatchObject({ conclusion: "success" });
    expect(
      desiredCheck({ status: "completed", statusReason: "no follow-ups; the runner exited" }, "failed"),
    ).toMatchObject({ conclusion: "success" });
  });

  it("is in progress while working, failure or cancelled when ended", () => {
    expect(desiredCheck({ status: "running", statusReason: "working on @alice's prompt" }, null)).toEqual({
      working: true,
      title: "Working on @alice's prompt",
    });
    expect(desiredCheck({ status: "failed", statusReason: null }, "failed")).toMatchObject({
      conclusion: "failure",
      title: "Failed: unknown error",
    });
    expect(desiredCheck({ status: "stopped", statusReason: "by @bob" }, null)).toMatchObject({
      conclusion: "cancelled",
      title: "Stopped (by @bob)",
    });
  });
});

describe("the status comment after a turn", () => {
  const base = { status: "idle" as const, reason: "the prompt failed: boom", sessionUrl: "https://x/s/1", prUrl: null };
  it("says the turn failed from the turn's outcome", () => {
    expect(statusCommentBody({ ...base, turn: "failed" })).toContain("⚠️ The prompt failed: boom.");
    expect(statusCommentBody({ ...base, turn: "done" })).toContain("💤 Done for now");
  });

  it("carries the session's cost so far once there is one", () => {
    expect(statusCommentBody({ ...base, usage: "$0.42 · 12k tokens" })).toContain(
      "<sub>Cost so far: $0.42 · 12k tokens</sub>",
    );
    expect(statusCommentBody(base)).not.toContain("Cost");
  });
});
