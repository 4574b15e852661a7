import { describe, expect, it } from "vitest";
import { BASE_CONFIG, buildOpencodeConfig, deepMerge, parseModel } from "./config.js";

describe("OpenCode config merge", () => {
  it("keeps the offline-safe base when the operator gives nothing", () => {
    expect(buildOpencodeConfig({}, null)).toEqual(BASE_CONFIG);
  });

  it("merges operator providers and MCP servers over the base, objects key by key", () => {
    const operator = {
      provider: { acme: { npm: "@ai-sdk/openai-compatible", options: { baseURL: "http://x" } } },
      mcp: { sentry: { type: "remote", url: "https://mcp.sentry.dev", headers: { Authorization: "Bearer t" } } },
      permission: { bash: "allow" },
      model: "acme/big",
    };
    const merged = buildOpencodeConfig(operator, null);
    expect(merged.provider).toEqual(operator.provider);
    expect(merged.mcp).toEqual(operator.mcp);
    expect(merged.model).toBe("acme/big");
    expect(merged.permission).toEqual({ question: "deny", external_directory: "ask", bash: "allow" });
    expect(merged.autoupdate).toBe(false);
  });

  it("lets the session's model override the operator default", () => {
    expect(buildOpencodeConfig({ model: "acme/big" }, "acme/small").model).toBe("acme/small");
  });

  it("replaces arrays and scalars instead of merging them", () => {
    expect(deepMerge({ a: [1, 2], b: { c: 1 } }, { a: [3], b: 2 })).toEqual({ a: [3], b: 2 });
  });

  it("splits provider/model at the first slash only", () => {
    expect(parseModel("openrouter/anthropic/claude-sonnet-4.5")).toEqual({
      providerID: "openrouter",
      modelID: "anthropic/claude-sonnet-4.5",
    });
    expect(parseModel(null)).toBeUndefined();
    expect(parseModel("nomodel")).toBeUndefined();
    expect(parseModel("trailing/")).toBeUndefined();
  });
});
