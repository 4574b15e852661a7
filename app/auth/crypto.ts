/**
 * Keys derived from the app secret, one per purpose, and sealing of users' OAuth
 * tokens at rest (AES-256-GCM). A database dump alone does not reveal tokens.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";
import type { z } from "zod";

/**
 * HMAC-SHA256(secret, "inspect <purpose> v1"): the control plane's one key derivation (cookies,
 * token sealing, the room secret). protocol/viewer-token.ts computes the same formula with Web
 * Crypto, because the room runs in workerd.
 */
export function deriveKey(secret: string, purpose: string): Buffer {
  return createHmac("sha256", secret).update(`inspect ${purpose} v1`).digest();
}

/** `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
export function sealToken(secret: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(secret, "oauth token encryption"), iv);
  const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["v1", iv, cipher.getAuthTag(), data]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(".");
}

/** The token, or null when the value was not sealed with this secret (or was tampered with). */
export function openToken(secret: string, sealed: string): string | null {
  const [version, iv, tag, data] = sealed.split(".");
  if (version !== "v1" || !iv || !tag || data === undefined) return null;
  try {
    const decipher = createDecipheriv(
      "aes-256-gcm",
      deriveKey(secret, "oauth token encryption"),
      Buffer.from(iv, "base64url"),
    );
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

/** A short-lived HS256 token for one purpose (cookies, OAuth state, Slack link invitations). */
export async function signClaims(
  secret: string,
  purpose: string,
  claims: Record<string, unknown>,
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(deriveKey(secret, purpose));
}

/** The claims of a token `signClaims` made for `purpose`, or null: missing, forged, expired or of another shape. */
export async function verifyClaims<T>(
  secret: string,
  purpose: string,
  token: string | undefined,
  schema: z.ZodType<T>,
): Promise<T | null> {
  if (!token || token.length > 4_000) return null;
  try {
    const { payload } = await jwtVerify(token, deriveKey(secret, purpose), { algorithms: ["HS256"] });
    const parsed = schema.safeParse(payload);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
