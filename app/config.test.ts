import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

const PEM = "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----";

describe("loadConfig", () => {
  it("has embedded defaults: local mode, PGlite, port 3000", () => {
    const c = loadConfig({}, "/tmp/x");
    expect(c).toMatchObject({
      port: 3000,
      publicUrl: "http://localhost:3000",
      botHandle: "inspect",
      githubApp: null,
      databaseUrl: undefined,
      runner: { kind: "local" },
    });
    expect(c.dataDir).toBe("/tmp/x/.inspect");
    expect(c.github.apiUrl).toBe("https://api.github.com");
  });

  it("names the variable and what it expects", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/^PORT: expected a port number/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://x" })).toThrow(/^DATABASE_URL: expected a postgres/);
    expect(() => loadConfig({ INSPECT_RUNNER: "k8s" })).toThrow(/^INSPECT_RUNNER: expected 'local' or 'actions'/);
    expect(() => loadConfig({ INSPECT_BOT_HANDLE: "@inspect" })).toThrow(ConfigError);
  });

  it("reads the budgets in US dollars: unset is no cap, anything but a positive amount stops startup", () => {
    expect(loadConfig({}).budgets).toEqual({ sessionUsd: undefined, promptUsd: undefined });
    expect(loadConfig({ INSPECT_SESSION_BUDGET_USD: "5", INSPECT_PROMPT_BUDGET_USD: "0.25" }).budgets).toEqual({
      sessionUsd: 5,
      promptUsd: 0.25,
    });
    expect(() => loadConfig({ INSPECT_PROMPT_BUDGET_USD: "0" })).toThrow(
      /^INSPECT_PROMPT_BUDGET_USD: expected US dollars/,
    );
    expect(() => loadConfig({ INSPECT_SESSION_BUDGET_USD: "$5" })).toThrow(/^INSPECT_SESSION_BUDGET_USD/);
  });

  it("caps child sessions (2 deep, 5 each by default) and keeps the browser off unless asked", () => {
    expect(loadConfig({}).children).toEqual({ maxDepth: 2, maxPerSession: 5 });
    expect(loadConfig({ INSPECT_CHILD_DEPTH: "0", INSPECT_CHILD_MAX: "12" }).children).toEqual({
      maxDepth: 0,
      maxPerSession: 12,
    });
    expect(() => loadConfig({ INSPECT_CHILD_DEPTH: "6" })).toThrow(/^INSPECT_CHILD_DEPTH: expected a whole number 0-5/);
    expect(() => loadConfig({ INSPECT_CHILD_MAX: "-1" })).toThrow(/^INSPECT_CHILD_MAX/);
    expect(loadConfig({}).browser).toEqual({ allowHosts: [] });
    expect(loadConfig({ INSPECT_BROWSER: "off" }).browser).toBeNull();
    expect(loadConfig({ INSPECT_BROWSER: "auto" }).browser).toEqual({ allowHosts: [] });
    expect(
      loadConfig({ INSPECT_BROWSER: "auto", INSPECT_BROWSER_HOSTS: "api.example.com, *.cdn.example.com:443" }).browser,
    ).toEqual({ allowHosts: ["api.example.com", "*.cdn.example.com:443"] });
    expect(() => loadConfig({ INSPECT_BROWSER: "on" })).toThrow(/^INSPECT_BROWSER: expected 'auto' or 'off'/);
    expect(() => loadConfig({ INSPECT_BROWSER: "auto", INSPECT_BROWSER_HOSTS: "http://x" })).toThrow(
      /^INSPECT_BROWSER_HOSTS/,
    );
  });

  it("requires the whole GitHub App triple once any part is set", () => {
    expect(() => loadConfig({ APP_ID: "12" })).toThrow(/^PRIVATE_KEY:/);
    expect(() => loadConfig({ APP_ID: "12", PRIVATE_KEY: PEM })).toThrow(/^WEBHOOK_SECRET:/);
    expect(() => loadConfig({ APP_ID: "12", PRIVATE_KEY: "not a key", WEBHOOK_SECRET: "s" })).toThrow(
      /^PRIVATE_KEY: expected a PEM/,
    );
    const c = loadConfig({ APP_ID: "12", PRIVATE_KEY: PEM.replace(/\n/g, "\\n"), WEBHOOK_SECRET: "s" });
    expect(c.githubApp).toEqual({ appId: 12, privateKey: PEM, webhookSecret: "s" });
  });

  it("reads the key from PRIVATE_KEY_PATH", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cfg-"));
    writeFileSync(path.join(dir, "key.pem"), PEM);
    expect(
      loadConfig({ APP_ID: "1", PRIVATE_KEY_PATH: "key.pem", WEBHOOK_SECRET: "s" }, dir).githubApp?.privateKey,
    ).toBe(PEM);
    expect(() => loadConfig({ APP_ID: "1", PRIVATE_KEY_PATH: "missing.pem", WEBHOOK_SECRET: "s" }, dir)).toThrow(
      /^PRIVATE_KEY_PATH:/,
    );
  });

  it("honours GHE_HOST and GHE_PROTOCOL for every GitHub URL", () => {
    const c = loadConfig({
      GHE_HOST: "ghe.acme.internal",
      GHE_PROTOCOL: "http",
      APP_ID: "1",
      PRIVATE_KEY: PEM,
      WEBHOOK_SECRET: "s",
      INSPECT_RUNNER: "actions",
      INSPECT_RUNNER_REPO: "acme/runner",
    });
    expect(c.github).toMatchObject({
      webUrl: "http://ghe.acme.internal",
      apiUrl: "http://ghe.acme.internal/api/v3",
      graphqlUrl: "http://ghe.acme.internal/api/graphql",
      enterprise: true,
    });
    expect(c.runner).toMatchObject({
      kind: "actions",
      oidcIssuer: "http://ghe.acme.internal/_services/token",
      workflow: "inspect-runner.yml",
      ref: "main",
    });
  });

  it("needs a runner repository and an App for the actions runner", () => {
    expect(() => loadConfig({ INSPECT_RUNNER: "actions" })).toThrow(/^INSPECT_RUNNER_REPO:/);
    expect(() => loadConfig({ INSPECT_RUNNER: "actions", INSPECT_RUNNER_REPO: "a/b" })).toThrow(
      /^INSPECT_RUNNER: 'actions' needs a GitHub App/,
    );
  });

  it("parses the OpenCode config from JSON or a file", () => {
    expect(loadConfig({ INSPECT_OPENCODE_CONFIG: '{"model":"x/y"}' }).opencodeConfig).toEqual({ model: "x/y" });
    const dir = mkdtempSync(path.join(os.tmpdir(), "cfg-"));
    writeFileSync(path.join(dir, "oc.json"), '{"mcp":{}}');
    expect(loadConfig({ INSPECT_OPENCODE_CONFIG: "oc.json" }, dir).opencodeConfig).toEqual({ mcp: {} });
    expect(() => loadConfig({ INSPECT_OPENCODE_CONFIG: "{broken" })).toThrow(/^INSPECT_OPENCODE_CONFIG:/);
  });

  it("gives a dispatched runner ten heartbeat timeouts to claim (an Actions job may wait in GitHub's queue)", () => {
    expect(loadConfig({})).toMatchObject({ heartbeatTimeoutMs: 90_000, claimTimeoutMs: 900_000 });
    expect(loadConfig({ INSPECT_HEARTBEAT_TIMEOUT: "30" })).toMatchObject({ claimTimeoutMs: 300_000 });
  });

  it("validates LOG_LEVEL, defaulting to info", () => {
    expect(loadConfig({}).logLevel).toBe("info");
    expect(loadConfig({ LOG_LEVEL: "" }).logLevel).toBe("info");
    for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    expect(() => loadConfig({ LOG_LEVEL: "verbose" })).toThrow(
      /^LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/,
    );
    expect(() => loadConfig({ LOG_LEVEL: "INFO" })).toThrow(ConfigError);
  });

  it("shows public repositories' sessions to collaborators unless INSPECT_PUBLIC_SESSIONS=everyone", () => {
    expect(loadConfig({}).publicSessions).toBe("collaborators");
    expect(loadConfig({ INSPECT_PUBLIC_SESSIONS: "everyone" }).publicSessions).toBe("everyone");
    expect(loadConfig({ INSPECT_PUBLIC_SESSIONS: "collaborators" }).publicSessions).toBe("collaborators");
    expect(() => loadConfig({ INSPECT_PUBLIC_SESSIONS: "all" })).toThrow(
      /^INSPECT_PUBLIC_SESSIONS: expected 'collaborators' or 'everyone', got "all"$/,
    );
  });

  it("pairs the OAuth client id and secret", () => {
    expect(() => loadConfig({ GITHUB_CLIENT_ID: "x" })).toThrow(/^GITHUB_CLIENT_SECRET:/);
    expect(loadConfig({ GITHUB_CLIENT_ID: "x", GITHUB_CLIENT_SECRET: "y" }).oauth).toEqual({
      clientId: "x",
      clientSecret: "y",
    });
  });

  it("turns Slack on with both its signing secret and bot token, Slack's Web API by default", () => {
    expect(loadConfig({}).slack).toBeNull();
    expect(() => loadConfig({ SLACK_SIGNING_SECRET: "s" })).toThrow(/^SLACK_BOT_TOKEN:/);
    expect(() => loadConfig({ SLACK_BOT_TOKEN: "xoxb-1" })).toThrow(/^SLACK_SIGNING_SECRET:/);
    expect(() => loadConfig({ SLACK_SIGNING_SECRET: "s", SLACK_BOT_TOKEN: "xoxp-user" })).toThrow(
      /^SLACK_BOT_TOKEN: expected/,
    );
    expect(loadConfig({ SLACK_SIGNING_SECRET: "s", SLACK_BOT_TOKEN: "xoxb-1" }).slack).toEqual({
      signingSecret: "s",
      botToken: "xoxb-1",
      apiUrl: "https://slack.com/api/",
    });
    expect(
      loadConfig({ SLACK_SIGNING_SECRET: "s", SLACK_BOT_TOKEN: "xoxb-1", SLACK_API_URL: "http://127.0.0.1:9/api" })
        .slack?.apiUrl,
    ).toBe("http://127.0.0.1:9/api/");
  });
});
