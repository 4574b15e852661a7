import { createHash, randomBytes } from "node:crypto";

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Session ids: short, URL-safe, unguessable. */
export function newSessionId(): string {
  return randomBytes(9)
    .toString("base64url")
    .replace(/[-_]/g, (c) => (c === "-" ? "x" : "z"));
}
