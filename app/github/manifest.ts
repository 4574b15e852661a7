/**
 * First-run setup without credentials: create the GitHub App from app.yml
 * (GitHub's manifest flow, as Probot does), then write its credentials to .env.
 * The flow carries a state this page signed (GitHub hands it back to the callback): a callback
 * this machine did not start — a link to /setup/callback with someone else's code — is refused.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Hono, type Context } from "hono";
import { html } from "hono/html";
import type { ProbotOctokit } from "probot";
import { parse } from "yaml";
import { z } from "zod";
import { signClaims, verifyClaims } from "../auth/crypto.js";
import type { Config } from "../config.js";
import { convertManifest } from "./gateway.js";

const SETUP_STATE = "github app setup state";
/** Long enough to fill in GitHub's form, short enough that a leaked link soon stops working. */
const SETUP_STATE_TTL_S = 3_600;
const SetupState = z.object({ setup: z.literal(true) });

export function buildManifest(config: Config, appYml: string): Record<string, unknown> {
  const base = (parse(appYml) ?? {}) as Record<string, unknown>;
  return {
    ...base,
    url: base.url && base.url !== "https://github.com/" ? base.url : config.publicUrl,
    hook_attributes: { url: `${config.publicUrl}/api/github/webhooks` },
    redirect_url: `${config.publicUrl}/setup/callback`,
    callback_urls: [`${config.publicUrl}/auth/callback`],
    setup_url: `${config.publicUrl}/`,
  };
}

/** The env lines for a converted manifest (quoted PEM, as dotenv reads it). */
function envLines(app: {
  id: number;
  pem: string;
  webhook_secret: string;
  client_id: string;
  client_secret: string;
}): string {
  return [
    `APP_ID=${app.id}`,
    `PRIVATE_KEY="${app.pem.trim().replace(/\n/g, "\\n")}"`,
    `WEBHOOK_SECRET=${app.webhook_secret}`,
    `GITHUB_CLIENT_ID=${app.client_id}`,
    `GITHUB_CLIENT_SECRET=${app.client_secret}`,
  ].join("\n");
}

export function setupRoutes(
  config: Config,
  opts: { root: string; secret: string; isLocal: (c: Context) => boolean; Octokit?: typeof ProbotOctokit },
) {
  const app = new Hono();
  const envFile = path.join(opts.root, ".env");

  app.use("*", async (c, next) => {
    // Creating an App writes credentials on this machine: only its own user may do it.
    if (!opts.isLocal(c)) return c.json({ error: "setup is only available from this machine" }, 403);
    await next();
  });

  app.get("/", async (c) => {
    const yml = readFileSync(path.join(opts.root, "app.yml"), "utf8");
    const manifest = JSON.stringify(buildManifest(config, yml));
    const state = await signClaims(opts.secret, SETUP_STATE, { setup: true }, SETUP_STATE_TTL_S);
    const target = `${config.github.webUrl}/settings/apps/new?state=${encodeURIComponent(state)}`;
    return c.html(
      html`<!doctype html>
        <html>
          <head>
            <meta name="viewport" content="width=device-width,initial-scale=1" />
            <title>Set up Inspect</title>
          </head>
          <body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem">
            <h1>Connect Inspect to GitHub</h1>
            <p>
              This creates a GitHub App from <code>app.yml</code> on ${config.github.webUrl} and saves its credentials
              to <code>.env</code>.
            </p>
            <form action="${target}" method="post">
              <input type="hidden" name="manifest" value="${manifest}" />
              <button type="submit">Create the GitHub App</button>
            </form>
          </body>
        </html>`,
    );
  });

  app.get("/callback", async (c) => {
    const code = c.req.query("code");
    if (!code || !/^[\w-]{1,200}$/.test(code)) return c.json({ error: "missing or invalid code" }, 400);
    if (!(await verifyClaims(opts.secret, SETUP_STATE, c.req.query("state"), SetupState)))
      return c.json({ error: "this setup was not started here, or too long ago: open /setup again" }, 400);
    const data = await convertManifest(config.github.apiUrl, code, opts.Octokit);
    const existing = existsSync(envFile) ? readFileSync(envFile, "utf8") : "";
    appendFileSync(envFile, `${existing && !existing.endsWith("\n") ? "\n" : ""}${envLines(data as never)}\n`, {
      mode: 0o600,
    });
    return c.html(
      html`<!doctype html>
        <html>
          <body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem">
            <h1>GitHub App created</h1>
            <p>
              Credentials were written to <code>.env</code>. Restart <code>npm start</code>, then
              <a href="${data.html_url}/installations/new">install the app on your repositories</a>.
            </p>
          </body>
        </html>`,
    );
  });

  return app;
}
