/** {env:NAME} in the operator's OpenCode config: filled from the app's environment, unset names reported. */
import { describe, expect, it } from "vitest";
import { resolveEnvPlaceholders } from "./resolve-env.js";

describe("resolveEnvPlaceholders", () => {
  const env = { ANTHROPIC_KEY: "sk-ant", HOST: "llm.internal", EMPTY: "" };

  it("fills placeholders anywhere in the config: nested objects, arrays, several in one string", () => {
    const config = {
      provider: {
        anthropic: { options: { apiKey: "{env:ANTHROPIC_KEY}", baseURL: "https://{env:HOST}:{env:HOST}/v1" } },
      },
      mcp: { tools: { command: ["run", "--token={env:ANTHROPIC_KEY}"], enabled: true, timeout: 5 } },
      nothing: null,
    };
    const { value, missing } = resolveEnvPlaceholders(config, env);
    expect(value).toEqual({
      provider: { anthropic: { options: { apiKey: "sk-ant", baseURL: "https://llm.internal:llm.internal/v1" } } },
      mcp: { tools: { command: ["run", "--token=sk-ant"], enabled: true, timeout: 5 } },
      nothing: null,
    });
    expect(missing).toEqual([]);
  });

  it("does not touch the input, keys, or text that only looks similar", () => {
    const config = { "{env:HOST}": "{env:}", other: "{ env:HOST }", lower: "{ENV:HOST}", odd: "{env:1BAD}" };
    const copy = structuredClone(config);
    expect(resolveEnvPlaceholders(config, env).value).toEqual(copy);
    expect(config).toEqual(copy);
  });

  it("an unset variable becomes empty (never the placeholder) and is reported once, in order of first use", () => {
    const config = { a: "{env:NOPE_B}", b: ["{env:NOPE_A}", "x{env:NOPE_B}y"], c: "{env:EMPTY}" };
    const { value, missing } = resolveEnvPlaceholders(config, env);
    expect(value).toEqual({ a: "", b: ["", "xy"], c: "" });
    expect(JSON.stringify(value)).not.toContain("{env:");
    // Set but empty is the operator's choice, not a mistake.
    expect(missing).toEqual(["NOPE_B", "NOPE_A"]);
  });

  it("passes non-string values through", () => {
    expect(resolveEnvPlaceholders(42, env)).toEqual({ value: 42, missing: [] });
    expect(resolveEnvPlaceholders(undefined, env)).toEqual({ value: undefined, missing: [] });
    expect(resolveEnvPlaceholders("{env:HOST}", env)).toEqual({ value: "llm.internal", missing: [] });
  });
});
