import { describe, expect, it } from "vitest";
import { idleDeadline, TOKEN_MARGIN_MS } from "./deadline.js";

describe("idle deadline", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");

  it("is the idle timeout after the last activity without a git token (local mode)", () => {
    expect(idleDeadline(now, 600_000, null)).toBe(now + 600_000);
  });

  it("comes earlier when the git token would expire before a turn could finish", () => {
    const expires = new Date(now + 15 * 60_000).toISOString();
    expect(idleDeadline(now, 600_000, expires)).toBe(now + 15 * 60_000 - TOKEN_MARGIN_MS);
  });

  it("ignores a token that outlives the idle timeout, and an unreadable expiry", () => {
    expect(idleDeadline(now, 600_000, new Date(now + 3_600_000).toISOString())).toBe(now + 600_000);
    expect(idleDeadline(now, 600_000, "soon")).toBe(now + 600_000);
  });
});
