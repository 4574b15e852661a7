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

describe("reads before sync (a pooled sandbox)", () => {
  it("holds edits and commands until the sync is done, never reads; a failed sync refuses them with why", async () => {
    const { holdWritesUntil, writesSettled } = await import("./permission-policy.js");
    let finish!: () => void;
    holdWritesUntil(new Promise<void>((resolve) => (finish = resolve)));
    const order: string[] = [];
    const asks = ["read", "glob", "grep", "edit", "bash"].map((permission) =>
      writesSettled({ permission }).then((refused) => order.push(`${permission}:${refused ?? "ok"}`)),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(["read:ok", "glob:ok", "grep:ok"]);
    finish();
    await Promise.all(asks);
    expect(order.slice(3)).toEqual(["edit:ok", "bash:ok"]);

    holdWritesUntil(Promise.reject(new Error("fetch failed")));
    expect(await writesSettled({ permission: "edit" })).toMatch(/could not be brought up to date \(fetch failed\)/);
    expect(await writesSettled({ permission: "read" })).toBeNull();
  });
});
