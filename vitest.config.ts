import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{protocol,app,sandbox,action,web,test}/**/*.test.{ts,tsx}"],
    exclude: ["**/node_modules/**", "action/dist/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files run in parallel up to the pool size; heavy suites (OpenCode, partykit) opt into sequence.
    pool: "forks",
    maxWorkers: 2,
  },
});
