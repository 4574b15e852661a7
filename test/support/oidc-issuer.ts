/**
 * A local stand-in for the Actions OIDC issuer: a JWKS on loopback and a signer. Every token gets
 * a fresh `jti`, as GitHub's do, unless the claims name one (`jti: null` leaves it out).
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";

export interface TestIssuer {
  url: string;
  sign(
    claims: JWTPayload & Record<string, unknown>,
    opts?: { expiresIn?: string | number; issuer?: string; foreignKey?: boolean },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const other = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const server: Server = createServer((req, res) => {
    if (req.url === "/.well-known/jwks") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    async sign(claims, opts = {}) {
      const { jti = randomUUID(), ...rest } = claims;
      return new SignJWT(jti === null ? rest : { ...rest, jti })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(opts.issuer ?? url)
        .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
        .setExpirationTime(opts.expiresIn ?? "5m")
        .sign(opts.foreignKey ? other.privateKey : privateKey);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface TokenService {
  /** ACTIONS_ID_TOKEN_REQUEST_URL for the job. */
  url: string;
  /** The audiences asked for, and every token handed out, in order. */
  audiences: string[];
  minted: string[];
  close(): Promise<void>;
}

/**
 * The Actions token service a runner job asks for its OIDC token:
 * `GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=…` with `Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` →
 * `{value: jwt}`, signed by `issuer` with the claims `claims(audience)` gives (null: refused).
 */
export async function startTokenService(
  issuer: TestIssuer,
  requestToken: string,
  claims: (audience: string) => (JWTPayload & Record<string, unknown>) | null,
): Promise<TokenService> {
  const audiences: string[] = [];
  const minted: string[] = [];
  const server = createServer(async (req, res) => {
    const audience = new URL(req.url ?? "/", "http://x").searchParams.get("audience") ?? "";
    audiences.push(audience);
    const wanted = req.headers.authorization === `Bearer ${requestToken}` ? claims(audience) : null;
    const value = wanted ? await issuer.sign(wanted) : null;
    if (value) minted.push(value);
    res.writeHead(value ? 200 : 401, { "content-type": "application/json" });
    res.end(JSON.stringify(value ? { value } : { message: "bad request token" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/token?api-version=2.0`,
    audiences,
    minted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
