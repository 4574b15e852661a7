/** Building an in-process Inspect for tests: real app, real database, GitHub faked at HTTP. */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ProbotOctokit } from "probot";
import { loadConfig } from "../../app/config.js";
import type { Database } from "../../app/db/client.js";
import { createInspect, type Inspect, type InspectOptions } from "../../app/server.js";

let key: string | null = null;
/** An RSA key for the test GitHub App (generated once per process). */
export function appPrivateKey(): string {
  key ??= generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString();
  return key;
}

export const WEBHOOK_SECRET = "test-webhook-secret";

/** Probot's throttling waits 1–3 s per write unless disabled this way (see DEPENDENCY-NOTES). */
export const TestOctokit = ProbotOctokit.defaults((o: any) => ({
  ...o,
  retry: { enabled: false },
  throttle: { ...o.throttle, enabled: false },
}));

export function githubEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    APP_ID: "1",
    PRIVATE_KEY: appPrivateKey(),
    WEBHOOK_SECRET,
    INSPECT_PUBLIC_URL: "https://inspect.test",
    INSPECT_RUNNER: "actions",
    INSPECT_RUNNER_REPO: "acme/inspect-runner",
    INSPECT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "inspect-test-")),
    INSPECT_SECRET: "x".repeat(40),
    // No warm pool unless a test asks for one (app/pool): each pooled sandbox is an OpenCode.
    INSPECT_POOL_SIZE: "0",
    // No browser unless a test asks for one (INSPECT_BROWSER=auto): it adds an MCP server to
    // every OpenCode boot (README → A browser in the sandbox).
    INSPECT_BROWSER: "off",
    ...extra,
  };
}

export async function testInspect(
  env: Record<string, string>,
  database: Database,
  opts: InspectOptions = {},
): Promise<Inspect> {
  return createInspect(loadConfig(env), {
    database,
    logLevel: "fatal",
    Octokit: TestOctokit,
    statusCommentIntervalMs: 0,
    ...opts,
  });
}

export function signature(body: string, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

let deliveries = 0;
/** POST a signed webhook to the app, as GitHub would. */
export async function deliver(
  inspect: Inspect,
  name: string,
  payload: unknown,
  opts: { id?: string; secret?: string } = {},
): Promise<Response> {
  const body = JSON.stringify(payload);
  return inspect.app.request("/api/github/webhooks", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": name,
      "x-github-delivery": opts.id ?? `delivery-${process.pid}-${++deliveries}`,
      "x-hub-signature-256": signature(body, opts.secret),
    },
    body,
  });
}
