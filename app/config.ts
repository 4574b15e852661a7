/**
 * Configuration: read and validated here, once. Everything else receives a `Config`.
 * A bad value stops startup with one line naming the variable and what it expects.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { resolveEnvPlaceholders } from "./runner-api/resolve-env.js";

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
  ) {
    super(`${variable}: ${expected}`);
    this.name = "ConfigError";
  }
}

const bool = (v: string) => /^(1|true|yes|on)$/i.test(v);

/** Each variable: how to parse it and what to say when it is wrong. */
const spec = {
  PORT: { schema: z.coerce.number().int().min(0).max(65535), expects: "a port number (0-65535)" },
  INSPECT_PUBLIC_URL: { schema: z.string().url(), expects: "an absolute URL, e.g. https://inspect.example.com" },
  INSPECT_BOT_HANDLE: {
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/),
    expects: "a GitHub-style handle without @ (letters, digits, dashes)",
  },
  INSPECT_RUNNER: { schema: z.enum(["local", "actions"]), expects: "'local' or 'actions'" },
  INSPECT_RUNNER_REPO: {
    schema: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
    expects: "owner/name of the runner repository",
  },
  INSPECT_RUNNER_WORKFLOW: {
    schema: z.string().regex(/^[\w.-]+\.ya?ml$/),
    expects: "a workflow file name, e.g. inspect-runner.yml",
  },
  INSPECT_RUNNER_REF: { schema: z.string().min(1), expects: "the branch of the runner repository to dispatch on" },
  GHE_HOST: { schema: z.string().regex(/^[\w.-]+(:\d+)?$/), expects: "a host name, e.g. github.example.com" },
  GHE_PROTOCOL: { schema: z.enum(["http", "https"]), expects: "'http' or 'https'" },
  DATABASE_URL: {
    schema: z.string().regex(/^postgres(ql)?:\/\//),
    expects: "a postgres:// or postgresql:// URL (unset for the embedded database)",
  },
  INSPECT_DATA_DIR: { schema: z.string().min(1), expects: "a folder path" },
  APP_ID: { schema: z.coerce.number().int().positive(), expects: "the GitHub App's numeric id" },
  WEBHOOK_SECRET: { schema: z.string().min(1), expects: "the GitHub App's webhook secret" },
  INSPECT_SECRET: { schema: z.string().min(32), expects: "at least 32 characters of random secret" },
  INSPECT_MODEL: {
    schema: z.string().regex(/^[\w.@-]+\/[\w.:@/-]+$/),
    expects: "provider/model, e.g. anthropic/claude-sonnet-4-5",
  },
  INSPECT_IDLE_TIMEOUT: { schema: z.coerce.number().int().positive(), expects: "seconds (a positive whole number)" },
  INSPECT_HEARTBEAT_TIMEOUT: { schema: z.coerce.number().int().min(5), expects: "seconds (5 or more)" },
  INSPECT_SETUP_TIMEOUT: { schema: z.coerce.number().int().positive(), expects: "seconds (a positive whole number)" },
  INSPECT_TURN_TIMEOUT: {
    schema: z.coerce.number().positive().max(1440),
    expects: "minutes (a positive number, at most 1440)",
  },
  INSPECT_CHILD_DEPTH: {
    schema: z.coerce.number().int().min(0).max(5),
    expects: "a whole number 0-5 (0: agents cannot spawn sessions)",
  },
  INSPECT_CHILD_MAX: { schema: z.coerce.number().int().min(0).max(50), expects: "a whole number 0-50" },
  INSPECT_BROWSER: { schema: z.enum(["auto", "off"]), expects: "'auto' or 'off'" },
  INSPECT_BROWSER_HOSTS: {
    schema: z
      .string()
      .max(4_000)
      .regex(/^[\w.*:-]+(\s*,\s*[\w.*:-]+)*$/),
    expects: "comma-separated host names (host or host:port; *.example.com)",
  },
  INSPECT_POOL_SIZE: {
    schema: z.coerce.number().int().min(0).max(16),
    expects: "a whole number 0-16 (0 turns the pool off)",
  },
  INSPECT_POOL_MAX: { schema: z.coerce.number().int().min(0).max(64), expects: "a whole number 0-64" },
  INSPECT_POOL_TTL: { schema: z.coerce.number().positive(), expects: "hours (a positive number)" },
  INSPECT_SNAPSHOT_INTERVAL: {
    schema: z.coerce.number().positive().max(1440),
    expects: "minutes (a positive number, at most 1440)",
  },
  INSPECT_SESSION_BUDGET_USD: {
    schema: z.coerce.number().positive().finite(),
    expects: "US dollars (a positive number)",
  },
  INSPECT_PROMPT_BUDGET_USD: {
    schema: z.coerce.number().positive().finite(),
    expects: "US dollars (a positive number)",
  },
  INSPECT_OIDC_ISSUER: { schema: z.string().url(), expects: "the Actions OIDC issuer URL" },
  INSPECT_OIDC_AUDIENCE: { schema: z.string().min(1), expects: "the audience runners request their OIDC token for" },
  INSPECT_PARTY_URL: { schema: z.string().url(), expects: "the room server's URL, e.g. http://127.0.0.1:1999" },
  INSPECT_ROOM_SECRET: { schema: z.string().min(16), expects: "at least 16 characters shared with the room server" },
  GITHUB_CLIENT_ID: { schema: z.string().min(1), expects: "the GitHub App's OAuth client id" },
  GITHUB_CLIENT_SECRET: { schema: z.string().min(1), expects: "the GitHub App's OAuth client secret" },
  INSPECT_DRAFT_PRS: { schema: z.string().transform(bool), expects: "true or false" },
  INSPECT_SANDBOX_USER: {
    schema: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
    expects: "an OS user name, e.g. inspect-sandbox",
  },
  INSPECT_TRUST_REPO_CONFIG: { schema: z.string().transform(bool), expects: "true or false" },
  INSPECT_PUBLIC_SESSIONS: { schema: z.enum(["collaborators", "everyone"]), expects: "'collaborators' or 'everyone'" },
  SLACK_SIGNING_SECRET: {
    schema: z.string().min(1),
    expects: "the Slack app's signing secret (Basic Information → App Credentials)",
  },
  SLACK_BOT_TOKEN: { schema: z.string().regex(/^xoxb-/), expects: "the Slack app's bot token (xoxb-…)" },
  SLACK_API_URL: { schema: z.string().url(), expects: "Slack's Web API URL, e.g. https://slack.com/api/" },
  INSPECT_CLASSIFIER_MODEL: {
    schema: z.string().regex(/^[\w.@-]+\/[\w.:@/-]+$/),
    expects:
      "provider/model, e.g. openai/gpt-4o-mini (openai, or a provider of INSPECT_OPENCODE_CONFIG with an OpenAI-compatible baseURL)",
  },
  INSPECT_CLASSIFIER_THRESHOLD: {
    schema: z.coerce.number().min(0).max(1),
    expects: "a confidence between 0 and 1, e.g. 0.7",
  },
  LOG_LEVEL: {
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    expects: "one of fatal, error, warn, info, debug, trace, silent",
  },
} as const;

type Key = keyof typeof spec;
type Env = Record<string, string | undefined>;

function read<K extends Key>(env: Env, key: K): z.infer<(typeof spec)[K]["schema"]> | undefined {
  const raw = env[key];
  if (raw === undefined || raw === "") return undefined;
  const parsed = spec[key].schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(key, `expected ${spec[key].expects}, got ${JSON.stringify(raw)}`);
  return parsed.data as z.infer<(typeof spec)[K]["schema"]>;
}

export interface GitHubAppConfig {
  appId: number;
  privateKey: string;
  webhookSecret: string;
}

export interface Config {
  port: number;
  publicUrl: string;
  botHandle: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Null when no GitHub App is configured: local mode. */
  githubApp: GitHubAppConfig | null;
  oauth: { clientId: string; clientSecret: string } | null;
  github: {
    webUrl: string;
    apiUrl: string;
    graphqlUrl: string;
    host: string;
    protocol: "http" | "https";
    enterprise: boolean;
  };
  runner:
    | { kind: "local" }
    | { kind: "actions"; repo: string; workflow: string; ref: string; oidcIssuer: string; oidcAudience: string };
  /** Signs session, runner and viewer tokens. Generated into the data dir when unset. */
  secret: string | undefined;
  model: string | null;
  opencodeConfig: Record<string, unknown>;
  idleTimeoutMs: number;
  heartbeatTimeoutMs: number;
  /** How long a dispatched runner has to claim its session or pool slot: an Actions job may wait in GitHub's queue. */
  claimTimeoutMs: number;
  setupTimeoutMs: number;
  turnTimeoutMs: number;
  /** Child sessions an agent may spawn (app/children): how deep below a person's session, how many per session. */
  children: { maxDepth: number; maxPerSession: number };
  /** The agent's headless browser (sandbox/mcp/browser.ts): null when off; the hosts it may reach besides loopback. */
  browser: { allowHosts: string[] } | null;
  /** USD caps on a session's and on one prompt's spend; unset: none. A repository may lower them. */
  budgets: { sessionUsd?: number; promptUsd?: number };
  localRepos: string[];
  /**
   * The warm pool (app/pool): `size` ready sandboxes per active repository (one with a session
   * within `activeMs`, or listed in `repos`: owner/name or a local path), `max` in all; size 0: off.
   * A ready sandbox is recycled after `maxAgeMs` (INSPECT_SNAPSHOT_INTERVAL).
   */
  pool: { size: number; max: number; activeMs: number; repos: string[]; maxAgeMs: number };
  party: { url: string; secret: string | undefined };
  draftPullRequests: boolean;
  /** The OS user a local runner runs the session's code as (required with a GitHub App). */
  sandboxUser: string;
  /** Repositories' own OpenCode config may add MCP servers, plugins and providers. */
  trustRepoConfig: boolean;
  /** The App's key file, when it came from PRIVATE_KEY_PATH: hidden from sessions. */
  privateKeyPath: string | null;
  /** Who sees sessions of public repositories: their collaborators (triage or more), or everyone who signs in. */
  publicSessions: "collaborators" | "everyone";
  /** Null when Slack is not configured (SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN unset). */
  slack: { signingSecret: string; botToken: string; apiUrl: string } | null;
  /**
   * The model that guesses a Slack request's repository (INSPECT_CLASSIFIER_MODEL), reached as
   * OpenAI-compatible with the endpoint and key of its OpenCode provider; null when unset.
   */
  classifier: { provider: string; model: string; baseURL: string; apiKey: string; threshold: number } | null;
  /** The control plane's log level (pino). */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

/** GitHub URLs, honouring Probot's GHE_HOST / GHE_PROTOCOL. */
export function githubUrls(host: string | undefined, protocol: "http" | "https" = "https") {
  if (!host || host === "github.com") {
    return {
      webUrl: "https://github.com",
      apiUrl: "https://api.github.com",
      graphqlUrl: "https://api.github.com/graphql",
      host: "github.com",
      protocol: "https" as const,
      enterprise: false,
    };
  }
  const webUrl = `${protocol}://${host}`;
  return { webUrl, apiUrl: `${webUrl}/api/v3`, graphqlUrl: `${webUrl}/api/graphql`, host, protocol, enterprise: true };
}

function readPrivateKey(env: Env, cwd: string): string | undefined {
  if (env.PRIVATE_KEY) {
    const key = env.PRIVATE_KEY.replace(/\\n/g, "\n");
    if (!key.includes("-----BEGIN"))
      throw new ConfigError("PRIVATE_KEY", "expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)");
    return key;
  }
  if (env.PRIVATE_KEY_PATH) {
    let key: string;
    try {
      key = readFileSync(path.resolve(cwd, env.PRIVATE_KEY_PATH), "utf8");
    } catch {
      throw new ConfigError("PRIVATE_KEY_PATH", `expected a readable PEM file, cannot read ${env.PRIVATE_KEY_PATH}`);
    }
    if (!key.includes("-----BEGIN")) throw new ConfigError("PRIVATE_KEY_PATH", "expected a PEM private key file");
    return key;
  }
  return undefined;
}

function readOpencodeConfig(env: Env, cwd: string): Record<string, unknown> {
  const raw = env.INSPECT_OPENCODE_CONFIG?.trim();
  if (!raw) return {};
  let text = raw;
  if (!raw.startsWith("{")) {
    try {
      text = readFileSync(path.resolve(cwd, raw), "utf8");
    } catch {
      throw new ConfigError("INSPECT_OPENCODE_CONFIG", `expected JSON or a readable JSON file, cannot read ${raw}`);
    }
  }
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    /* fall through */
  }
  throw new ConfigError("INSPECT_OPENCODE_CONFIG", "expected a JSON object (OpenCode config) or a path to one");
}

/** INSPECT_CLASSIFIER_MODEL's endpoint and key: its provider's options in the OpenCode config ({env:…} filled in), or OpenAI's. */
function readClassifier(env: Env, opencode: Record<string, unknown>): Config["classifier"] {
  const name = read(env, "INSPECT_CLASSIFIER_MODEL");
  if (!name) return null;
  const [provider, ...rest] = name.split("/");
  const entry = (opencode.provider as Record<string, { options?: Record<string, unknown> }> | undefined)?.[provider!];
  const { value: options, missing } = resolveEnvPlaceholders(entry?.options ?? {}, env);
  if (missing.length)
    throw new ConfigError(
      "INSPECT_CLASSIFIER_MODEL",
      `expected ${missing.join(", ")} set (provider ${provider}'s options name it)`,
    );
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const baseURL = str(options.baseURL) ?? (provider === "openai" ? "https://api.openai.com/v1" : undefined);
  if (!baseURL || !z.string().url().safeParse(baseURL).success)
    throw new ConfigError(
      "INSPECT_CLASSIFIER_MODEL",
      `expected provider ${provider} to have an OpenAI-compatible options.baseURL in INSPECT_OPENCODE_CONFIG (or the provider openai)`,
    );
  const apiKey = str(options.apiKey) ?? (provider === "openai" ? str(env.OPENAI_API_KEY) : undefined) ?? "";
  return {
    provider: provider!,
    model: rest.join("/"),
    baseURL,
    apiKey,
    threshold: read(env, "INSPECT_CLASSIFIER_THRESHOLD") ?? 0.7,
  };
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const port = read(env, "PORT") ?? 3000;
  const publicUrl = (read(env, "INSPECT_PUBLIC_URL") ?? `http://localhost:${port}`).replace(/\/+$/, "");
  const gh = githubUrls(read(env, "GHE_HOST"), read(env, "GHE_PROTOCOL") ?? "https");

  const appId = read(env, "APP_ID");
  const privateKey = readPrivateKey(env, cwd);
  const webhookSecret = read(env, "WEBHOOK_SECRET");
  const anyApp = appId !== undefined || privateKey !== undefined || webhookSecret !== undefined;
  let githubApp: GitHubAppConfig | null = null;
  if (anyApp) {
    if (appId === undefined)
      throw new ConfigError("APP_ID", "expected the GitHub App's numeric id (PRIVATE_KEY/WEBHOOK_SECRET are set)");
    if (privateKey === undefined)
      throw new ConfigError(
        "PRIVATE_KEY",
        "expected the GitHub App's PEM key, or PRIVATE_KEY_PATH to a file (APP_ID is set)",
      );
    if (webhookSecret === undefined)
      throw new ConfigError("WEBHOOK_SECRET", "expected the GitHub App's webhook secret (APP_ID is set)");
    githubApp = { appId, privateKey, webhookSecret };
  }

  const clientId = read(env, "GITHUB_CLIENT_ID");
  const clientSecret = read(env, "GITHUB_CLIENT_SECRET");
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new ConfigError(
      clientId ? "GITHUB_CLIENT_SECRET" : "GITHUB_CLIENT_ID",
      "expected both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or neither",
    );
  }

  const signingSecret = read(env, "SLACK_SIGNING_SECRET");
  const botToken = read(env, "SLACK_BOT_TOKEN");
  if ((signingSecret === undefined) !== (botToken === undefined)) {
    throw new ConfigError(
      signingSecret ? "SLACK_BOT_TOKEN" : "SLACK_SIGNING_SECRET",
      "expected both SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN, or neither",
    );
  }
  const slackApiUrl = (read(env, "SLACK_API_URL") ?? "https://slack.com/api/").replace(/\/*$/, "/");

  const runnerKind = read(env, "INSPECT_RUNNER") ?? "local";
  let runner: Config["runner"] = { kind: "local" };
  if (runnerKind === "actions") {
    const repo = read(env, "INSPECT_RUNNER_REPO");
    if (!repo)
      throw new ConfigError(
        "INSPECT_RUNNER_REPO",
        "expected owner/name of the runner repository (INSPECT_RUNNER=actions)",
      );
    if (!githubApp)
      throw new ConfigError("INSPECT_RUNNER", "'actions' needs a GitHub App (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET)");
    runner = {
      kind: "actions",
      repo,
      workflow: read(env, "INSPECT_RUNNER_WORKFLOW") ?? "inspect-runner.yml",
      ref: read(env, "INSPECT_RUNNER_REF") ?? "main",
      oidcIssuer:
        read(env, "INSPECT_OIDC_ISSUER") ??
        (gh.enterprise ? `${gh.webUrl}/_services/token` : "https://token.actions.githubusercontent.com"),
      oidcAudience: read(env, "INSPECT_OIDC_AUDIENCE") ?? publicUrl,
    };
  }

  const localRepos = (env.INSPECT_LOCAL_REPOS ?? "")
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((p) => path.resolve(cwd, p));

  const opencodeConfig = readOpencodeConfig(env, cwd);
  const pool: Config["pool"] = {
    size: read(env, "INSPECT_POOL_SIZE") ?? 1,
    max: read(env, "INSPECT_POOL_MAX") ?? 4,
    activeMs: Math.round((read(env, "INSPECT_POOL_TTL") ?? 24) * 3_600_000),
    repos: (env.INSPECT_POOL_REPOS ?? "")
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean)
      .map((r) => (/^[\w-][\w.-]*\/[\w.-]+$/.test(r) ? r : path.resolve(cwd, r))),
    maxAgeMs: Math.round((read(env, "INSPECT_SNAPSHOT_INTERVAL") ?? 30) * 60_000),
  };
  return {
    port,
    publicUrl,
    botHandle: read(env, "INSPECT_BOT_HANDLE") ?? "inspect",
    dataDir: path.resolve(cwd, read(env, "INSPECT_DATA_DIR") ?? ".inspect"),
    databaseUrl: read(env, "DATABASE_URL"),
    githubApp,
    oauth: clientId && clientSecret ? { clientId, clientSecret } : null,
    github: gh,
    runner,
    secret: read(env, "INSPECT_SECRET"),
    model: read(env, "INSPECT_MODEL") ?? null,
    opencodeConfig,
    idleTimeoutMs: (read(env, "INSPECT_IDLE_TIMEOUT") ?? 600) * 1000,
    heartbeatTimeoutMs: (read(env, "INSPECT_HEARTBEAT_TIMEOUT") ?? 90) * 1000,
    claimTimeoutMs: (read(env, "INSPECT_HEARTBEAT_TIMEOUT") ?? 90) * 1000 * 10,
    setupTimeoutMs: (read(env, "INSPECT_SETUP_TIMEOUT") ?? 300) * 1000,
    turnTimeoutMs: Math.round((read(env, "INSPECT_TURN_TIMEOUT") ?? 60) * 60_000),
    children: { maxDepth: read(env, "INSPECT_CHILD_DEPTH") ?? 2, maxPerSession: read(env, "INSPECT_CHILD_MAX") ?? 5 },
    // On by default: offered wherever the runner has Chromium and the package (sandbox/mcp/browser.ts).
    browser:
      (read(env, "INSPECT_BROWSER") ?? "auto") === "off"
        ? null
        : {
            allowHosts: (read(env, "INSPECT_BROWSER_HOSTS") ?? "")
              .split(",")
              .map((h) => h.trim())
              .filter(Boolean),
          },
    budgets: {
      sessionUsd: read(env, "INSPECT_SESSION_BUDGET_USD"),
      promptUsd: read(env, "INSPECT_PROMPT_BUDGET_USD"),
    },
    localRepos,
    pool,
    party: {
      url: (read(env, "INSPECT_PARTY_URL") ?? "http://127.0.0.1:1999").replace(/\/+$/, ""),
      secret: read(env, "INSPECT_ROOM_SECRET"),
    },
    draftPullRequests: read(env, "INSPECT_DRAFT_PRS") ?? true,
    sandboxUser: read(env, "INSPECT_SANDBOX_USER") ?? "inspect-sandbox",
    trustRepoConfig: read(env, "INSPECT_TRUST_REPO_CONFIG") ?? false,
    privateKeyPath: !env.PRIVATE_KEY && env.PRIVATE_KEY_PATH ? path.resolve(cwd, env.PRIVATE_KEY_PATH) : null,
    publicSessions: read(env, "INSPECT_PUBLIC_SESSIONS") ?? "collaborators",
    slack: signingSecret && botToken ? { signingSecret, botToken, apiUrl: slackApiUrl } : null,
    classifier: readClassifier(env, opencodeConfig),
    logLevel: read(env, "LOG_LEVEL") ?? "info",
  };
}
