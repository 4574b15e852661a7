/**
 * Runner jobs prove who they are with the GitHub Actions OIDC token: signed by
 * the issuer's keys, for our audience, from a `workflow_dispatch` run of the
 * runner workflow on the configured ref of the runner repository — that
 * repository by its numeric id, not only its name. Workflow inputs carry no
 * secret, so this is the only credential. Which session the job may claim (the
 * one its run was dispatched for, once) is checked by the runner service.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** owner/name of the runner repository. */
  repository: string;
  /** The runner workflow's file name, e.g. inspect-runner.yml. */
  workflow: string;
  /** The ref runs are dispatched on: a branch name (`main`) or a full ref (`refs/heads/main`). */
  ref: string;
  /** The runner repository's numeric id (asked of GitHub once). */
  repositoryId: () => Promise<number>;
}

/** What a verified runner token says about the job. */
export interface RunnerIdentity {
  /** The workflow run (`run_id`). */
  runId: number;
  /** The token's unique id: accepted once. */
  jti: string;
  expiresAt: Date;
  repository: string;
  actor: string | null;
}

export class OidcError extends Error {
  override name = "OidcError";
}

/** `main` → `refs/heads/main`; a full ref (`refs/heads/…`, `refs/tags/…`) stays as it is. */
function fullRef(ref: string): string {
  return ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
}

export function createOidcVerifier(opts: OidcOptions) {
  const issuer = opts.issuer.replace(/\/+$/, "");
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks`), {
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000,
  });
  const ref = fullRef(opts.ref);
  const workflowFile = `/.github/workflows/${opts.workflow}`;
  const workflowRef = `${opts.repository}${workflowFile}@${ref}`;

  return async function verify(token: string): Promise<RunnerIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: opts.audience,
        clockTolerance: 30,
        requiredClaims: ["exp", "jti"],
      }));
    } catch (err) {
      throw new OidcError(`OIDC token rejected: ${err instanceof Error ? err.message : String(err)}`);
    }
    const claims = payload as JWTPayload & Record<string, unknown>;
    if (String(claims.repository ?? "").toLowerCase() !== opts.repository.toLowerCase()) {
      throw new OidcError(`OIDC token is for repository ${String(claims.repository)}, expected ${opts.repository}`);
    }
    // The path names the repository as GitHub spells it; the workflow file and the ref are exact.
    const claimed = String(claims.workflow_ref ?? "");
    const at = claimed.lastIndexOf("@");
    const [claimedPath, claimedRef] = at < 0 ? [claimed, ""] : [claimed.slice(0, at), claimed.slice(at + 1)];
    if (
      claimedPath.toLowerCase() !== `${opts.repository}${workflowFile}`.toLowerCase() ||
      !claimedPath.endsWith(workflowFile) ||
      claimedRef !== ref
    ) {
      throw new OidcError(`OIDC token is for workflow ${String(claims.workflow_ref)}, expected ${workflowRef}`);
    }
    if (claims.event_name !== "workflow_dispatch") {
      throw new OidcError(`OIDC token is from a ${String(claims.event_name)} event, expected workflow_dispatch`);
    }
    if (claims.ref !== ref) {
      throw new OidcError(`OIDC token is for ref ${String(claims.ref)}, expected ${ref}`);
    }
    const repositoryId = await opts.repositoryId();
    if (String(claims.repository_id ?? "") !== String(repositoryId)) {
      throw new OidcError(
        `OIDC token is for repository id ${String(claims.repository_id)}, expected ${repositoryId} (${opts.repository})`,
      );
    }
    const runId = Number(claims.run_id);
    if (!/^\d+$/.test(String(claims.run_id ?? "")) || !Number.isSafeInteger(runId) || runId <= 0) {
      throw new OidcError(`OIDC token has no valid run_id (${String(claims.run_id)})`);
    }
    return {
      runId,
      jti: String(claims.jti),
      expiresAt: new Date(claims.exp! * 1000),
      repository: String(claims.repository),
      actor: typeof claims.actor === "string" ? claims.actor : null,
    };
  };
}
