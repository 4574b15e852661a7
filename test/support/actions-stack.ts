/**
 * The control plane in `actions` mode against the fake GitHub Enterprise host: `acme/widgets`
 * (a local bare repository served over smart HTTP, alice a writer), runner jobs dispatched to
 * `acme/inspect-runner`, their OIDC tokens from a test issuer the control plane trusts, the
 * scripted model, PGlite in memory.
 */
import path from "node:path";
import { openDatabase, type Database } from "../../app/db/client.js";
import type { Inspect } from "../../app/server.js";
import { fakeGheEnv, startFakeGhe, type FakeGhe } from "./fake-ghe.js";
import { testInspect } from "./inspect.js";
import { startModelServer, type ModelServer } from "./model-server.js";
import { startIssuer, type TestIssuer } from "./oidc-issuer.js";
import { bareRepo, git } from "./sandbox-harness.js";

export interface ActionsStack {
  bare: string;
  fake: FakeGhe;
  model: ModelServer;
  issuer: TestIssuer;
  db: Database;
  inspect: Inspect;
  controlPlane: string;
  close(): Promise<void>;
}

/** In `work` (git under `git/`, data under `data/`); `env` adds to the control plane's (the pool's settings). */
export async function startActionsStack(
  work: string,
  files: Record<string, string>,
  env: Record<string, string>,
): Promise<ActionsStack> {
  const gitRoot = path.join(work, "git");
  const bare = bareRepo(path.join(gitRoot, "acme"), "widgets", files);
  git(bare, "config", "http.receivepack", "true");
  const fake = await startFakeGhe(gitRoot, bare, {
    owner: "acme",
    repo: "widgets",
    runnerRepo: "inspect-runner",
    installationId: 77,
    runnerInstallationId: 88,
  });
  fake.permissions.set("alice", "write");
  const model = await startModelServer();
  const issuer = await startIssuer();
  const db = await openDatabase({ dataDir: "memory://" });
  const inspect = await testInspect(
    fakeGheEnv(fake, model, path.join(work, "data"), {
      INSPECT_RUNNER: "actions",
      INSPECT_RUNNER_REPO: "acme/inspect-runner",
      INSPECT_OIDC_ISSUER: issuer.url,
      ...env,
    }),
    db,
  );
  const controlPlane = (await inspect.listen(0, "127.0.0.1")).url;
  return {
    bare,
    fake,
    model,
    issuer,
    db,
    inspect,
    controlPlane,
    async close() {
      await inspect.close();
      await issuer.close();
      await model.close();
      await fake.close();
      await db.close();
    },
  };
}
