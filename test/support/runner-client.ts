/** This test acts as a runner: the runner API over HTTP, with an OIDC token from the test issuer. */
import type { ClaimResponse, NextResponse } from "../../app/protocol/runner-api.js";
import type { Inspect } from "../../app/server.js";
import type { TestIssuer } from "./oidc-issuer.js";

export const RUNNER_CLAIMS = {
  repository: "acme/inspect-runner",
  workflow_ref: "acme/inspect-runner/.github/workflows/inspect-runner.yml@refs/heads/main",
  run_id: "123",
  actor: "acme-bot",
  aud: "https://inspect.test",
};

export function runnerClient(inspect: () => Inspect, issuer: () => TestIssuer) {
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
    async claim(sessionId: string): Promise<ClaimResponse> {
      const res = await call("/claim", await issuer().sign(RUNNER_CLAIMS), { body: { sessionId } });
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
