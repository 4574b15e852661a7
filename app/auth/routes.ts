/**
 * Sign in with GitHub (OAuth web flow): GET /auth/login → GitHub → GET /auth/callback
 * → signed session cookie; POST /auth/logout. The user's token is stored sealed in
 * users.oauth_token; it is used for access checks and to act as them on GitHub.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { Config } from "../config.js";
import { upsertUser } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { users } from "../db/schema.js";
import { randomToken } from "../util/tokens.js";
import { clearSessionCookie, safeReturnTo, setSessionCookie, setStateCookie, takeStateCookie } from "./cookies.js";
import { sealToken } from "./crypto.js";
import { GitHubAuthError, exchangeCode, fetchUser } from "../github/user-api.js";

export interface AuthRouteDeps {
  config: Pick<Config, "oauth" | "github" | "publicUrl">;
  db: Db;
  secret: string;
  fetch?: typeof fetch;
}

const Callback = z.object({ code: z.string().min(1).max(500), state: z.string().min(16).max(200) });

export function authRoutes(deps: AuthRouteDeps): Hono {
  const { config, db, secret } = deps;
  const routes = new Hono();
  const redirectUri = `${config.publicUrl}/auth/callback`;

  routes.get("/login", async (c) => {
    const returnTo = safeReturnTo(c.req.query("returnTo"));
    if (!config.oauth)
      return c.json(
        {
          error:
            "sign-in is not configured (set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET); local mode serves this machine only",
        },
        404,
      );
    const state = randomToken(24);
    await setStateCookie(c, secret, config.publicUrl, state, returnTo);
    const url = new URL(`${config.github.webUrl}/login/oauth/authorize`);
    url.searchParams.set("client_id", config.oauth.clientId);
    url.searchParams.set("redirect_uri", redirectUri);
    url.searchParams.set("state", state);
    return c.redirect(url.toString(), 302);
  });

  routes.get("/callback", async (c) => {
    if (!config.oauth) return c.json({ error: "sign-in is not configured" }, 404);
    const query = Callback.safeParse(c.req.query());
    if (!query.success) return c.json({ error: "expected ?code=…&state=… from GitHub" }, 400);
    const expected = await takeStateCookie(c, secret);
    if (!expected || expected.state !== query.data.state)
      return c.json({ error: "sign-in expired or was started elsewhere; try again" }, 400);
    let token: string;
    let ghUser;
    try {
      token = await exchangeCode(config.github, config.oauth, query.data.code, redirectUri, deps.fetch);
      ghUser = await fetchUser(config.github, token, deps.fetch);
    } catch (err) {
      if (err instanceof GitHubAuthError) return c.json({ error: err.message }, 400);
      throw err;
    }
    const user = await upsertUser(db, {
      login: ghUser.login,
      githubId: ghUser.id,
      name: ghUser.name ?? null,
      avatarUrl: ghUser.avatar_url ?? null,
    });
    await db
      .update(users)
      .set({ oauthToken: sealToken(secret, token) })
      .where(eq(users.id, user.id));
    await setSessionCookie(c, secret, config.publicUrl, user);
    return c.redirect(expected.returnTo, 302);
  });

  routes.post("/logout", async (c) => {
    await c.req.text();
    clearSessionCookie(c);
    return c.redirect("/", 303);
  });

  return routes;
}
