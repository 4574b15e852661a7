import { describe, expect, it } from "vitest";
import { SESSION_STATUSES } from "../../protocol/events.js";
import { canTransition, isActive, lastTurn, sourcesOf } from "./state.js";

describe("session state machine", () => {
  it("follows queued → starting → running ⇄ idle → completed", () => {
    expect(canTransition("queued", "starting")).toBe(true);
    expect(canTransition("starting", "running")).toBe(true);
    expect(canTransition("running", "idle")).toBe(true);
    expect(canTransition("idle", "running")).toBe(true);
    expect(canTransition("idle", "completed")).toBe(true);
  });

  it("refuses skipping ahead or leaving archived", () => {
    expect(canTransition("queued", "running")).toBe(false);
    expect(canTransition("running", "completed")).toBe(false);
    expect(canTransition("running", "queued")).toBe(false);
    for (const to of SESSION_STATUSES) expect(canTransition("archived", to)).toBe(false);
  });

  it("lets every non-archived state be archived, and ended sessions be re-queued", () => {
    for (const from of SESSION_STATUSES.filter((s) => s !== "archived"))
      expect(canTransition(from, "archived")).toBe(true);
    for (const from of ["completed", "failed", "stopped"] as const) expect(canTransition(from, "queued")).toBe(true);
  });

  it("lists the sources of a state and which states are active", () => {
    expect(sourcesOf("starting")).toEqual(["queued"]);
    expect(sourcesOf("stopped").sort()).toEqual(["idle", "queued", "running", "starting"]);
    expect(SESSION_STATUSES.filter(isActive)).toEqual(["queued", "starting", "running", "idle"]);
  });

  it("tells how the last finished turn ended, skipping prompts that never ran to an end", () => {
    expect(lastTurn([])).toBeNull();
    expect(lastTurn([{ status: "queued" }])).toBeNull();
    expect(lastTurn([{ status: "failed" }, { status: "done" }])).toBe("done");
    expect(lastTurn([{ status: "done" }, { status: "failed" }, { status: "cancelled" }, { status: "queued" }])).toBe(
      "failed",
    );
    expect(lastTurn([{ status: "failed" }, { status: "stopped" }, { status: "running" }])).toBe("stopped");
  });
});
