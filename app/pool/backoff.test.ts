import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { RepoBackoff } from "./backoff.js";

describe("the pool's backoff for a repository whose sandboxes keep failing", () => {
  it("waits twice as long after each failure in a row, up to 10 min, and forgets on success", () => {
    const b = new RepoBackoff();
    expect(b.mayTry(1, 0)).toBe(true);
    b.failed(1, 0);
    expect(b.mayTry(1, 4_999)).toBe(false);
    expect(b.mayTry(1, 5_000)).toBe(true);
    b.failed(1, 5_000);
    expect(b.mayTry(1, 14_999)).toBe(false);
    for (let i = 0; i < 20; i++) b.failed(1, 0);
    expect(b.mayTry(1, 600_000)).toBe(true);
    expect(b.mayTry(2, 0)).toBe(true);
    b.cleared(1);
    expect(b.mayTry(1, 0)).toBe(true);
  });
});

describe("pool configuration", () => {
  it("defaults: one sandbox per active repository, four in all, active for 24 h, recycled after 30 min", () => {
    expect(loadConfig({}).pool).toEqual({ size: 1, max: 4, activeMs: 86_400_000, repos: [], maxAgeMs: 1_800_000 });
  });

  it("reads INSPECT_POOL_* and INSPECT_SNAPSHOT_INTERVAL; names are owner/name or paths", () => {
    const pool = loadConfig(
      {
        INSPECT_POOL_SIZE: "0",
        INSPECT_POOL_MAX: "2",
        INSPECT_POOL_TTL: "1.5",
        INSPECT_POOL_REPOS: "acme/widgets, ./tools",
        INSPECT_SNAPSHOT_INTERVAL: "10",
      },
      "/srv",
    ).pool;
    expect(pool).toEqual({
      size: 0,
      max: 2,
      activeMs: 5_400_000,
      repos: ["acme/widgets", "/srv/tools"],
      maxAgeMs: 600_000,
    });
    expect(() => loadConfig({ INSPECT_POOL_SIZE: "-1" })).toThrow(/INSPECT_POOL_SIZE/);
  });
});
