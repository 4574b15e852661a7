/**
 * Runner jobs prove who they are with the GitHub Actions OIDC token: signed by
 * the issuer's keys, for our audience, from the runner repository's runner
 * workflow. Workflow inputs carry no secret, so this is the only credential.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** owner/name of the runner repository. */
  repository: string;
  /** The runner workflow's file name, e.g. inspect-runner.yml. */
  workflow: string;
}

export class OidcError extends Error {
  override name = "OidcError";
}

export function createOidcVerifier(opts: OidcOptions) {
  const issuer = opts.issuer.replace(/\/+$/, "");
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks`), { cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
  const workflowPrefix = `${opts.repository}/.github/workflows/${opts.workflow}@`.toLowerCase();

  return async function verify(token: string): Promise<JWTPayload & Record<string, unknown>> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer, audience: opts.audience, clockTolerance: 30 }));
    } catch (err) {
      throw new OidcError(`OIDC token rejected: ${err instanceof Error ? err.message : String(err)}`);
    }
    const claims = payload as JWTPayload & Record<string, unknown>;
    if (String(claims.repository ?? "").toLowerCase() !== opts.repository.toLowerCase()) {
      throw new OidcError(`OIDC token is for repository ${String(claims.repository)}, expected ${opts.repository}`);
    }
    const workflowRef = String(claims.workflow_ref ?? "").toLowerCase();
    if (!workflowRef.startsWith(workflowPrefix)) {
      throw new OidcError(`OIDC token is for workflow ${String(claims.workflow_ref)}, expected ${opts.repository}/.github/workflows/${opts.workflow}`);
    }
    return claims;
  };
}
