import { describe, expect, it } from "vitest";
import type { GitHubGateway, Permission } from "./gateway.js";
import { canTrigger, PermissionCache } from "./permissions.js";

/** A gateway that only answers `permission()`, from a script, recording every call. */
function fakeGateway(answer: (call: number) => Promise<Permission>) {
  const calls: string[] = [];
  const gateway = {
    permission(installationId: number, owner: string, repo: string, login: string): Promise<Permission> {
      calls.push(`${installationId}:${owner}/${repo}:${login}`);
      return answer(calls.length);
    },
  };
  return { gateway: gateway as unknown as GitHubGateway, calls };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("PermissionCache", () => {
  it("asks GitHub once for a burst, including while the first answer is in flight", async () => {
    let resolve!: (p: Permission) => void;
    const { gateway, calls } = fakeGateway(() => new Promise((r) => (resolve = r)));
    const cache = new PermissionCache(gateway, 60_000, clock().now);
    const burst = [cache.get(1, "acme", "widgets", "alice"), cache.get(1, "acme", "widgets", "alice")];
    resolve("write");
    expect(await Promise.all(burst)).toEqual(["write", "write"]);
    expect(await cache.get(1, "acme", "widgets", "alice")).toBe("write");
    expect(calls).toHaveLength(1);
  });

  it("asks again once the TTL has passed, so a revoked permission takes effect", async () => {
    const answers: Permission[] = ["write", "read"];
    const { gateway, calls } = fakeGateway((n) => Promise.resolve(answers[n - 1]!));
    const c = clock();
    const cache = new PermissionCache(gateway, 60_000, c.now);
    expect(await cache.get(1, "acme", "widgets", "alice")).toBe("write");
    c.advance(59_999);
    expect(await cache.get(1, "acme", "widgets", "alice")).toBe("write");
    expect(calls).toHaveLength(1);
    c.advance(1);
    expect(await cache.get(1, "acme", "widgets", "alice")).toBe("read");
    expect(calls).toHaveLength(2);
  });

  it("does not cache errors: the next call asks again", async () => {
    const { gateway, calls } = fakeGateway((n) =>
      n === 1 ? Promise.reject(new Error("502 Bad Gateway")) : Promise.resolve("admin"),
    );
    const cache = new PermissionCache(gateway, 60_000, clock().now);
    await expect(cache.get(1, "acme", "widgets", "bob")).rejects.toThrow("502");
    expect(await cache.get(1, "acme", "widgets", "bob")).toBe("admin");
    expect(calls).toHaveLength(2);
  });

  it("a late failure of an expired lookup does not evict the fresh answer that replaced it", async () => {
    let reject!: (e: Error) => void;
    const { gateway, calls } = fakeGateway((n) =>
      n === 1 ? new Promise((_, r) => (reject = r)) : Promise.resolve("write"),
    );
    const c = clock();
    const cache = new PermissionCache(gateway, 1_000, c.now);
    const stale = cache.get(1, "acme", "widgets", "alice");
    c.advance(1_000);
    expect(await cache.get(1, "acme", "widgets", "alice")).toBe("write");
    reject(new Error("timeout"));
    await expect(stale).rejects.toThrow("timeout");
    expect(await cache.get(1, "acme", "widgets", "alice")).toBe("write");
    expect(calls).toHaveLength(2);
  });

  it("keys on installation, repository and login, case-insensitively", async () => {
    const { gateway, calls } = fakeGateway(() => Promise.resolve("write"));
    const cache = new PermissionCache(gateway, 60_000, clock().now);
    await cache.get(1, "acme", "widgets", "alice");
    await cache.get(1, "ACME", "Widgets", "Alice");
    expect(calls).toHaveLength(1);
    await cache.get(1, "acme", "widgets", "bob");
    await cache.get(1, "acme", "gadgets", "alice");
    await cache.get(2, "acme", "widgets", "alice");
    expect(calls).toEqual([
      "1:acme/widgets:alice",
      "1:acme/widgets:bob",
      "1:acme/gadgets:alice",
      "2:acme/widgets:alice",
    ]);
  });
});

describe("canTrigger", () => {
  it.each(["admin", "maintain", "write"] as const)("%s may trigger", (p) => expect(canTrigger(p)).toBe(true));
  it.each(["triage", "read", "none"] as const)("%s may not", (p) => expect(canTrigger(p)).toBe(false));
});
