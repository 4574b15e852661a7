/** This test acts as a runner: the runner API over HTTP, with an OIDC token from the test issuer. */
import type { ClaimResponse, NextResponse } from "../../protocol/runner-api.js";
import type { Inspect } from "../../app/server.js";
import type { TestIssuer } from "./oidc-issuer.js";

/** The runner repository's numeric id in the fakes (GET /repos/acme/inspect-runner). */
export const RUNNER_REPOSITORY_ID = 5150042;

/**
 * The claims of a runner job's OIDC token, as GitHub would sign them for a dispatched run of the
 * runner workflow (strings, as GitHub's are). `run_id` is the dispatched run's: see `jobClaims`.
 */
export const RUNNER_CLAIMS = {
  repository: "acme/inspect-runner",
  repository_id: String(RUNNER_REPOSITORY_ID),
  workflow_ref: "acme/inspect-runner/.github/workflows/inspect-runner.yml@refs/heads/main",
  event_name: "workflow_dispatch",
  ref: "refs/heads/main",
  run_id: "123",
  actor: "acme-bot",
  aud: "https://inspect.test",
};

/** The claims of the job GitHub started for `runId` (the test issuer adds a fresh `jti`). */
export function jobClaims(runId: number | string, extra: Record<string, unknown> = {}) {
  return { ...RUNNER_CLAIMS, run_id: String(runId), ...extra };
}

/** `runFor(sessionId)`: the workflow run GitHub (the fake) started for the session's latest dispatch. */
export function runnerClient(
  inspect: () => Inspect,
  issuer: () => TestIssuer,
  runFor: (sessionId: string) => { id: number } | undefined,
) {
  async function call(path: string, token: string | null, init: { method?: string; body?: unknown } = {}) {
    const res = await inspect().app.request(`/api/runner${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as any };
  }
  return {
    call,
    /** The token the job dispatched for this session would get. */
    async token(sessionId: string, extra: Record<string, unknown> = {}): Promise<string> {
      const run = runFor(sessionId);
      if (!run) throw new Error(`no workflow run was dispatched for session ${sessionId}`);
      return issuer().sign(jobClaims(run.id, extra));
    },
    async claim(sessionId: string): Promise<ClaimResponse> {
      const run = runFor(sessionId);
      if (!run) throw new Error(`no workflow run was dispatched for session ${sessionId}`);
      const res = await call("/claim", await issuer().sign(jobClaims(run.id)), { body: { sessionId } });
      if (res.status !== 200) throw new Error(`claim failed: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json;
    },
    async next(id: string, token: string, wait = 0): Promise<NextResponse> {
      return (await call(`/sessions/${id}/next?wait=${wait}`, token)).json;
    },
    /** Take the next prompt (which must be there). */
    async take(id: string, token: string) {
      const n = (await call(`/sessions/${id}/next?wait=0`, token)).json as NextResponse;
      if (n.kind !== "prompt") throw new Error(`expected a prompt, got ${JSON.stringify(n)}`);
      return n.prompt;
    },
    async push(id: string, token: string, sha: string, branch = "b") {
      const res = await call(`/sessions/${id}/pushed`, token, { body: { branch, sha } });
      if (res.status !== 200) throw new Error(`pushed failed: ${res.status}`);
    },
    async done(id: string, token: string, promptId: number, body: Record<string, unknown>) {
      const res = await call(`/sessions/${id}/prompts/${promptId}/done`, token, { body });
      if (res.status !== 200) throw new Error(`done failed: ${res.status} ${JSON.stringify(res.json)}`);
    },
    async exit(id: string, token: string, reason = "idle") {
      await call(`/sessions/${id}/exit`, token, { body: { reason } });
    },
  };
}
