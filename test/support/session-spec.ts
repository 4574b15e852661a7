/** A runner's session spec for tests and benchmarks that drive the sandbox's parts directly (no control plane). */
import type { SessionSpec } from "../../protocol/runner-api.js";

export function sessionSpec(cloneUrl: string, over: Partial<SessionSpec> = {}): SessionSpec {
  const id = over.id ?? "s1";
  return {
    id,
    repo: { owner: "local", name: "demo", fullName: "local/demo" },
    cloneUrl,
    baseBranch: "main",
    headBranch: `inspect/${id}-demo`,
    headExists: false,
    gitToken: null,
    gitTokenExpiresAt: null,
    committer: { name: "Inspect", email: "inspect@localhost" },
    model: null,
    opencodeConfig: {},
    idleTimeoutMs: 1000,
    heartbeatIntervalMs: 1000,
    setupTimeoutMs: 1000,
    sessionUrl: `http://x/sessions/${id}`,
    ...over,
  };
}
