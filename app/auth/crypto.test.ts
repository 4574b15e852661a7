import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { verifyViewerToken } from "../../protocol/viewer-token.js";
import { safeReturnTo } from "./cookies.js";
import { deriveKey, openToken, sealToken } from "./crypto.js";

const SECRET = "an-app-secret-of-at-least-32-characters!";

describe("sealed OAuth tokens", () => {
  it("round-trips, and two seals of one token differ (fresh IV)", () => {
    const a = sealToken(SECRET, "gho_abc123");
    const b = sealToken(SECRET, "gho_abc123");
    expect(a).not.toBe(b);
    expect(a).not.toContain("gho_abc123");
    expect(openToken(SECRET, a)).toBe("gho_abc123");
  });

  it("refuses another secret, a tampered ciphertext and garbage", () => {
    const sealed = sealToken(SECRET, "gho_abc123");
    expect(openToken("another-secret-another-secret-another", sealed)).toBeNull();
    const parts = sealed.split(".");
    parts[3] = Buffer.from("gho_xyz999").toString("base64url");
    expect(openToken(SECRET, parts.join("."))).toBeNull();
    expect(openToken(SECRET, "not-sealed")).toBeNull();
  });

  it("derives different keys per purpose", () => {
    expect(deriveKey(SECRET, "a").equals(deriveKey(SECRET, "b"))).toBe(false);
  });

  it("is the derivation the room's viewer tokens use (Web Crypto there, for workerd)", async () => {
    const token = await new SignJWT({ sid: "s1", avatar: null })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuedAt()
      .setExpirationTime("1m")
      .sign(deriveKey(SECRET, "viewer token"));
    expect((await verifyViewerToken(SECRET, token, "s1"))?.sub).toBe("alice");
  });
});

describe("safeReturnTo", () => {
  it("keeps same-site paths and drops anything that could leave the site", () => {
    expect(safeReturnTo("/sessions/abc?x=1")).toBe("/sessions/abc?x=1");
    for (const bad of [
      "https://evil.example/",
      "//evil.example",
      "/\\evil.example",
      "javascript:alert(1)",
      "",
      undefined,
    ])
      expect(safeReturnTo(bad)).toBe("/");
  });
});
