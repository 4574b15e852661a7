import { describe, expect, it } from "vitest";
import { decidePermission, isInside } from "./permission-policy.js";

const checkout = "/work/sessions/s1/repo";

describe("permission policy", () => {
  it("rejects anything outside the checkout", () => {
    expect(
      decidePermission(checkout, {
        permission: "external_directory",
        patterns: ["/etc/*"],
        metadata: { filepath: "/etc/passwd" },
      }),
    ).toBe("reject");
    expect(decidePermission(checkout, { permission: "edit", patterns: ["/work/sessions/s1/other/x.ts"] })).toBe(
      "reject",
    );
    expect(decidePermission(checkout, { permission: "read", patterns: ["~/.ssh/*"] })).toBe("reject");
    expect(
      decidePermission(checkout, {
        permission: "edit",
        patterns: ["*"],
        metadata: { filepath: "/work/sessions/s1/repo/../../s2/repo/a" },
      }),
    ).toBe("reject");
  });

  it("allows work inside the checkout, including commands", () => {
    expect(
      decidePermission(checkout, {
        permission: "edit",
        patterns: ["/work/sessions/s1/repo/src/*"],
        metadata: { filepath: "/work/sessions/s1/repo/src/a.ts" },
      }),
    ).toBe("once");
    expect(decidePermission(checkout, { permission: "bash", patterns: ["npm test *"] })).toBe("once");
  });

  it("rejects the doom-loop guard so a stuck agent stops", () => {
    expect(decidePermission(checkout, { permission: "doom_loop", patterns: ["*"] })).toBe("reject");
  });

  it("does not mistake a sibling folder with the same prefix for the inside", () => {
    expect(isInside(checkout, "/work/sessions/s1/repo-evil/x")).toBe(false);
    expect(isInside(checkout, "src/x")).toBe(true);
    expect(isInside(checkout, checkout)).toBe(true);
  });
});
