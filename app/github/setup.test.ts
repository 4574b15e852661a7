import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { signClaims } from "../auth/crypto.js";
import { buildManifest, setupRoutes } from "./manifest.js";
import { TestOctokit } from "../../test/support/inspect.js";

const root = mkdtempSync(path.join(os.tmpdir(), "inspect-setup-"));
copyFileSync(path.join(process.cwd(), "app.yml"), path.join(root, "app.yml"));

beforeAll(() => nock.disableNetConnect());
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const secret = "s".repeat(40);
/** The state the setup page hands GitHub, as GitHub hands it back to the callback. */
async function stateFromPage(app: ReturnType<typeof setupRoutes>): Promise<string> {
  const body = await (await app.request("/")).text();
  return decodeURIComponent(body.match(/settings\/apps\/new\?state=([^"&]+)/)![1]!);
}

describe("first-run GitHub App setup (manifest flow)", () => {
  const config = loadConfig({ INSPECT_PUBLIC_URL: "https://inspect.example.com", GHE_HOST: "ghe.acme.test" });

  it("builds the manifest from app.yml with our URLs", () => {
    const m = buildManifest(config, readFileSync(path.join(root, "app.yml"), "utf8"));
    expect(m).toMatchObject({
      name: "Inspect",
      hook_attributes: { url: "https://inspect.example.com/api/github/webhooks" },
      redirect_url: "https://inspect.example.com/setup/callback",
      callback_urls: ["https://inspect.example.com/auth/callback"],
      default_permissions: {
        contents: "write",
        issues: "write",
        pull_requests: "write",
        checks: "write",
        actions: "write",
      },
    });
    expect(m.default_events).toEqual([
      "issue_comment",
      "issues",
      "pull_request",
      "pull_request_review",
      "pull_request_review_comment",
      "check_run",
    ]);
  });

  it("posts the manifest to the GitHub host's new-app page", async () => {
    const app = setupRoutes(config, { root, secret, isLocal: () => true });
    const res = await app.request("/");
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toContain('action="https://ghe.acme.test/settings/apps/new?state=');
    expect(body).toContain("inspect.example.com/api/github/webhooks");
  });

  it("exchanges the code and writes the credentials to .env", async () => {
    writeFileSync(path.join(root, ".env"), "PORT=4000");
    nock("https://ghe.acme.test/api/v3").post("/app-manifests/abc123/conversions").reply(201, {
      id: 99,
      pem: "-----BEGIN RSA PRIVATE KEY-----\nk\n-----END RSA PRIVATE KEY-----\n",
      webhook_secret: "whs",
      client_id: "Iv1.x",
      client_secret: "cs",
      html_url: "https://ghe.acme.test/apps/inspect",
    });
    const app = setupRoutes(config, { root, secret, isLocal: () => true, Octokit: TestOctokit });
    const res = await app.request(`/callback?code=abc123&state=${encodeURIComponent(await stateFromPage(app))}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("https://ghe.acme.test/apps/inspect/installations/new");
    const env = readFileSync(path.join(root, ".env"), "utf8");
    expect(env).toBe(
      'PORT=4000\nAPP_ID=99\nPRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\nk\\n-----END RSA PRIVATE KEY-----"\nWEBHOOK_SECRET=whs\nGITHUB_CLIENT_ID=Iv1.x\nGITHUB_CLIENT_SECRET=cs\n',
    );
    // dotenv-style parsing gives back a key our config accepts.
    const parsed = Object.fromEntries(
      env
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).replace(/^"|"$/g, "")]),
    );
    expect(loadConfig(parsed).githubApp?.appId).toBe(99);
  });

  it("refuses a callback without a state this machine issued, or with an expired one, before trading the code", async () => {
    const app = setupRoutes(config, { root, secret, isLocal: () => true, Octokit: TestOctokit });
    const forged = await signClaims("another-secret".repeat(3), "github app setup state", { setup: true }, 600);
    const expired = await signClaims(secret, "github app setup state", { setup: true }, -10);
    const otherPurpose = await signClaims(secret, "oauth state", { setup: true }, 600);
    for (const state of [undefined, "nonsense", forged, expired, otherPurpose]) {
      const res = await app.request(`/callback?code=abc123${state ? `&state=${encodeURIComponent(state)}` : ""}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("open /setup again");
    }
    // nock answers nothing here: no conversion was attempted (it would have thrown).
  });

  it("is refused from other machines, and without a valid code", async () => {
    expect((await setupRoutes(config, { root, secret, isLocal: () => false }).request("/")).status).toBe(403);
    expect(
      (await setupRoutes(config, { root, secret, isLocal: () => true }).request("/callback?code=../../x")).status,
    ).toBe(400);
  });
});
