/**
 * Signed cookies (HS256 JWTs with a key derived from the app secret):
 * the sign-in session, and the short-lived OAuth `state` for the login round trip.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { signClaims, verifyClaims } from "./crypto.js";

const SESSION_COOKIE = "inspect_session";
const STATE_COOKIE = "inspect_oauth";
const SESSION_TTL_SECONDS = 7 * 24 * 3600;
const STATE_TTL_SECONDS = 600;

const SessionClaims = z.object({ sub: z.string().regex(/^\d+$/), login: z.string().min(1) });
const StateClaims = z.object({ state: z.string().min(16), returnTo: z.string() });

function cookieOptions(publicUrl: string, maxAge: number) {
  return { httpOnly: true, sameSite: "Lax" as const, path: "/", secure: publicUrl.startsWith("https:"), maxAge };
}

export async function setSessionCookie(
  c: Context,
  secret: string,
  publicUrl: string,
  user: { id: number; login: string },
) {
  const token = await signClaims(
    secret,
    "session cookie",
    { sub: String(user.id), login: user.login },
    SESSION_TTL_SECONDS,
  );
  setCookie(c, SESSION_COOKIE, token, cookieOptions(publicUrl, SESSION_TTL_SECONDS));
}

/** The signed-in user's id, or null. */
export async function readSessionCookie(c: Context, secret: string): Promise<{ userId: number; login: string } | null> {
  const claims = await verifyClaims(secret, "session cookie", getCookie(c, SESSION_COOKIE), SessionClaims);
  return claims ? { userId: Number(claims.sub), login: claims.login } : null;
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
}

export async function setStateCookie(c: Context, secret: string, publicUrl: string, state: string, returnTo: string) {
  setCookie(
    c,
    STATE_COOKIE,
    await signClaims(secret, "oauth state", { state, returnTo }, STATE_TTL_SECONDS),
    cookieOptions(publicUrl, STATE_TTL_SECONDS),
  );
}

export async function takeStateCookie(c: Context, secret: string): Promise<{ state: string; returnTo: string } | null> {
  const claims = await verifyClaims(secret, "oauth state", getCookie(c, STATE_COOKIE), StateClaims);
  deleteCookie(c, STATE_COOKIE, { path: "/" });
  return claims;
}

/**
 * Only a path on this site. Browsers drop tabs and newlines from a URL and read `\\` as `/`, so
 * `/\t/evil.com` or `/\\evil.com` would leave the site: a path with either, or one that does not
 * resolve to this origin, goes home instead.
 */
export function safeReturnTo(value: string | undefined): string {
  if (!value || !value.startsWith("/") || /[\u0000-\u001f\u007f\\]/.test(value)) return "/";
  const base = "http://inspect.invalid";
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return "/";
  }
  if (url.origin !== base) return "/";
  return `${url.pathname}${url.search}${url.hash}`.slice(0, 2_000);
}
