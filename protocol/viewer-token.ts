/**
 * Viewer tokens: short-lived, session-scoped HS256 JWTs that let a browser open one
 * session's room. Signed by the control plane, verified by the room; both sides hold
 * the room secret. The signing key is derived from that secret (not the secret itself)
 * so a leaked token key can never be used as the append bearer. Runs on Node and in
 * workerd: only Web Crypto and jose.
 */
import { SignJWT, jwtVerify } from "jose";
import { ViewerClaims } from "./room.js";

const PURPOSE = "inspect viewer token v1";
const VIEWER_TOKEN_TTL_SECONDS = 300;

const keyCache = new Map<string, Promise<Uint8Array>>();

/** HMAC-SHA256(secret, purpose): a separate key per purpose from one shared secret. */
function tokenKey(secret: string): Promise<Uint8Array> {
  let key = keyCache.get(secret);
  if (!key) {
    const enc = new TextEncoder();
    key = crypto.subtle
      .importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then((k) => crypto.subtle.sign("HMAC", k, enc.encode(PURPOSE)))
      .then((bytes) => new Uint8Array(bytes));
    keyCache.set(secret, key);
  }
  return key;
}

export interface ViewerTokenInput {
  login: string;
  sessionId: string;
  avatarUrl?: string | null;
  ttlSeconds?: number;
}

export async function signViewerToken(
  secret: string,
  input: ViewerTokenInput,
): Promise<{ token: string; expiresAt: Date }> {
  const ttl = input.ttlSeconds ?? VIEWER_TOKEN_TTL_SECONDS;
  const exp = Math.floor(Date.now() / 1000) + ttl;
  const token = await new SignJWT({ sid: input.sessionId, avatar: input.avatarUrl ?? null })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(input.login)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(await tokenKey(secret));
  return { token, expiresAt: new Date(exp * 1000) };
}

/** The token's claims if it is valid, unexpired and for `sessionId`; otherwise null. */
export async function verifyViewerToken(
  secret: string,
  token: string,
  sessionId: string,
): Promise<ViewerClaims | null> {
  try {
    const { payload } = await jwtVerify(token, await tokenKey(secret), { algorithms: ["HS256"] });
    const claims = ViewerClaims.safeParse(payload);
    if (!claims.success || claims.data.sid !== sessionId) return null;
    return claims.data;
  } catch {
    return null;
  }
}
