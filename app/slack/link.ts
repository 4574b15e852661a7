/**
 * Linking a Slack user to a GitHub account. Inspect hands the Slack user a signed link
 * (`/slack/link?t=…`, naming their workspace and user id); the page signs them in with GitHub
 * (app/auth's OAuth flow) and, once they confirm, stores the pair. Permission checks for that
 * Slack user then go to GitHub with that account's token.
 *
 * Confirming is a same-origin POST, and the page names the Slack user being linked: a link
 * someone else forwards cannot silently tie your GitHub account to their Slack user.
 */
import { eq } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { Viewer } from "../api/access.js";
import { signClaims, verifyClaims } from "../auth/crypto.js";
import type { Db } from "../db/client.js";
import { users } from "../db/schema.js";
import { linkSlackUser } from "./store.js";

const PURPOSE = "slack link";
const TTL_SECONDS = 24 * 3600;
const SlackId = z.string().regex(/^[A-Z0-9]{2,32}$/);
const Claims = z.object({ team: SlackId, user: SlackId });

export async function linkUrl(publicUrl: string, secret: string, teamId: string, slackUserId: string): Promise<string> {
  const token = await signClaims(secret, PURPOSE, { team: teamId, user: slackUserId }, TTL_SECONDS);
  return `${publicUrl}/slack/link?t=${encodeURIComponent(token)}`;
}

async function readLinkToken(secret: string, token: string | undefined): Promise<z.infer<typeof Claims> | null> {
  return verifyClaims(secret, PURPOSE, token, Claims);
}

export interface LinkRouteDeps {
  db: Db;
  secret: string;
  publicUrl: string;
  signInAvailable: boolean;
  /** The signed-in viewer (app/auth), or null. */
  viewer(c: Context): Promise<Viewer | null>;
}

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:system-ui;max-width:36rem;margin:4rem auto"><h1>${title}</h1>${body}</body></html>`;

export function slackLinkRoutes(deps: LinkRouteDeps): Hono {
  const routes = new Hono();
  const origin = new URL(deps.publicUrl).origin;

  routes.get("/link", async (c) => {
    const token = c.req.query("t");
    const claims = await readLinkToken(deps.secret, token);
    if (!claims)
      return c.html(
        page(
          "Link expired",
          "<p>This link is invalid or has expired. Share the session link in Slack again to get a new one.</p>",
        ),
        400,
      );
    if (!deps.signInAvailable)
      return c.html(
        page(
          "Sign-in is not configured",
          "<p>This Inspect has no GitHub sign-in (GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET).</p>",
        ),
        404,
      );
    const viewer = await deps.viewer(c);
    if (!viewer) return c.redirect(`/auth/login?returnTo=${encodeURIComponent(`/slack/link?t=${token}`)}`, 302);
    return c.html(
      page(
        "Link your Slack account",
        `<p>Link Slack user <code>${claims.user}</code> (workspace <code>${claims.team}</code>) to the GitHub account <strong>@${escapeHtml(viewer.login)}</strong>?</p>` +
          `<p>Inspect will show that Slack user sessions of the repositories this GitHub account can read.</p>` +
          `<form method="post" action="/slack/link"><input type="hidden" name="t" value="${escapeHtml(token!)}"><button type="submit">Link accounts</button></form>`,
      ),
    );
  });

  routes.post(
    "/link",
    bodyLimit({ maxSize: 4_096, onError: (c) => c.json({ error: "body too large" }, 413) }),
    async (c) => {
      const form = await c.req.parseBody();
      if (c.req.header("origin") !== origin) return c.json({ error: "cross-site request refused" }, 403);
      const claims = await readLinkToken(deps.secret, typeof form.t === "string" ? form.t : undefined);
      if (!claims) return c.html(page("Link expired", "<p>This link is invalid or has expired.</p>"), 400);
      const viewer = await deps.viewer(c);
      if (!viewer || viewer.local) return c.json({ error: "sign in with GitHub first" }, 401);
      const [user] = await deps.db.select({ id: users.id }).from(users).where(eq(users.login, viewer.login));
      if (!user) return c.json({ error: "sign in with GitHub first" }, 401);
      await linkSlackUser(deps.db, claims.team, claims.user, user.id);
      return c.html(
        page(
          "Linked",
          `<p>Slack user <code>${claims.user}</code> is now linked to <strong>@${escapeHtml(viewer.login)}</strong>. Share the session link again to see its preview.</p>`,
        ),
      );
    },
  );

  return routes;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
