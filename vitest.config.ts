import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{protocol,app,sandbox,action,web,test}/**/*.test.{ts,tsx}"],
    exclude: ["**/node_modules/**", "action/dist/**"],
    // Real OpenCode, git and control planes on a loaded 2-core machine: a case that takes 35 s
    // alone took 60 s in a full run. Timeouts catch hangs; they do not measure speed (benchmarks do).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: files run in parallel up to the pool size; heavy suites (OpenCode, partykit) opt into sequence.
    pool: "forks",
    maxWorkers: 2,
  },
});
