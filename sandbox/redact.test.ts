import { describe, expect, it } from "vitest";
import { configSecrets, createRedactor, redactDeep, REDACTED } from "./redact.js";

describe("redaction", () => {
  const token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
  const redact = createRedactor([token, null, undefined]);

  it("removes the raw token, the URL-embedded form and the base64 Authorization form", () => {
    const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
    const line = `fatal: https://x-access-token:${token}@github.com/a/b.git; header Authorization: Basic ${basic}; raw ${token}`;
    const out = redact(line);
    expect(out).not.toContain(token);
    expect(out).not.toContain(basic);
    expect(out).toBe(
      `fatal: https://x-access-token:${REDACTED}@github.com/a/b.git; header Authorization: Basic ${REDACTED}; raw ${REDACTED}`,
    );
  });

  it("leaves text without secrets alone and ignores empty or tiny secrets", () => {
    expect(redact("nothing to see")).toBe("nothing to see");
    expect(createRedactor(["", "ab"])("ab and more")).toBe("ab and more");
  });

  it("redacts every string inside an event", () => {
    const ev = {
      type: "tool.call",
      data: { callId: "1", tool: "bash", status: "completed", output: `echo ${token}`, nested: [token] },
    };
    expect(redactDeep(ev, redact)).toEqual({
      type: "tool.call",
      data: { callId: "1", tool: "bash", status: "completed", output: `echo ${REDACTED}`, nested: [REDACTED] },
    });
  });

  it("finds the secrets in an operator's OpenCode config: API keys, MCP headers and env", () => {
    const config = {
      model: "acme/big-model-name",
      provider: { acme: { options: { baseURL: "https://api.acme.example/v1", apiKey: "sk-acme-1234567890" } } },
      mcp: {
        sentry: {
          type: "remote",
          url: "https://mcp.sentry.dev/mcp",
          headers: { Authorization: "Bearer sntrys_abcdefgh12345" },
        },
        datadog: { type: "local", command: ["dd-mcp"], environment: { DD_API_KEY: "dd0123456789abcdef" } },
      },
    };
    expect(configSecrets(config).sort()).toEqual(["dd0123456789abcdef", "sk-acme-1234567890", "sntrys_abcdefgh12345"]);
  });
});
