/**
 * The bundled GitHub Action as a runner job would run it, against the real control plane in
 * `actions` mode: a comment dispatches the runner workflow (GitHub's REST API faked at HTTP),
 * the action gets an OIDC token from a stand-in of the Actions token service (signed by a test
 * issuer the control plane trusts), claims the session with it and runs the sandbox. This
 * machine cannot reach github.com, so the clone fails: the run must end with a clear error,
 * the prompt failed, and the installation token nowhere in events or output.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../app/db/client.js";
import { listPrompts } from "../../app/db/prompts.js";
import { getSession, listSessions } from "../../app/db/sessions.js";
import type { Inspect } from "../../app/server.js";
import { FakeGitHub } from "../support/fake-github.js";
import { deliver, githubEnv, testInspect } from "../support/inspect.js";
import { startIssuer, type TestIssuer } from "../support/oidc-issuer.js";
import { issueComment } from "../support/payloads.js";
import { RUNNER_CLAIMS } from "../support/runner-client.js";
import { waitForNoProcesses } from "../support/sandbox-harness.js";

const root = path.resolve(import.meta.dirname, "../..");
let database: Database;
let issuer: TestIssuer;
let gh: FakeGitHub;
let inspect: Inspect;
let controlPlane: string;
let tokenService: Server;
let tokenUrl: string;
const audiences: string[] = [];

beforeAll(async () => {
  database = await openDatabase({ dataDir: "memory://" });
  issuer = await startIssuer();
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  gh = new FakeGitHub();
  gh.permissions.set("alice", "write");
  inspect = await testInspect(githubEnv({ INSPECT_OIDC_ISSUER: issuer.url }), database);
  controlPlane = (await inspect.listen(0, "127.0.0.1")).url;
  // The Actions token service: GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=… → {value: jwt}.
  tokenService = createServer(async (req, res) => {
    const audience = new URL(req.url ?? "/", "http://x").searchParams.get("audience") ?? "";
    audiences.push(audience);
    const ok = req.headers.authorization === "Bearer request-token";
    res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
    res.end(JSON.stringify(ok ? { value: await issuer.sign({ ...RUNNER_CLAIMS, aud: audience }) } : { message: "bad request token" }));
  });
  await new Promise<void>((r) => tokenService.listen(0, "127.0.0.1", r));
  tokenUrl = `http://127.0.0.1:${(tokenService.address() as AddressInfo).port}/token?api-version=2.0`;
});

afterAll(async () => {
  await inspect?.close();
  gh?.close();
  nock.enableNetConnect();
  await new Promise<void>((r) => tokenService?.close(() => r()));
  await issuer?.close();
  await database?.close();
});

function runAction(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, "action", "dist", "index.js")], { env: { PATH: process.env.PATH!, HOME: os.homedir(), ...env } });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("the GitHub Action claiming with OIDC", () => {
  it("claims the dispatched session with the job's OIDC token and ends a failed clone cleanly, token unseen", async () => {
    const delivered = await deliver(inspect, "issue_comment", issueComment("@inspect fix the crash", { issue: 77, login: "alice" }));
    expect(delivered.status).toBe(200);
    await inspect.tasks.drain();
    const session = (await listSessions(database.db)).find((s) => s.threadNumber === 77)!;
    const dispatch = gh.calls.find((c) => c.method === "POST" && c.path.endsWith("/dispatches"));
    expect(dispatch?.body.inputs).toEqual({ session_id: session.id, control_plane_url: "https://inspect.test" });

    const runnerTemp = mkdtempSync(path.join(os.tmpdir(), "inspect-action-"));
    try {
      const { code, output } = await runAction({
        "INPUT_SESSION-ID": dispatch!.body.inputs.session_id,
        // The test's control plane listens on loopback; the audience stays the public URL.
        "INPUT_CONTROL-PLANE-URL": controlPlane,
        INPUT_AUDIENCE: "https://inspect.test",
        ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
        RUNNER_TEMP: runnerTemp,
      });
      expect(audiences).toEqual(["https://inspect.test"]);
      expect(output).toContain(`claimed session ${session.id}`);
      expect(code).toBe(1);
      expect(output).toMatch(/::error::Preparing the checkout failed: git clone .*https:\/\/github\.com\/acme\/widgets\.git/);

      const minted = gh.calls.filter((c) => c.path.match(/\/app\/installations\/\d+\/access_tokens$/));
      expect(minted.length).toBeGreaterThan(0);
      const events = await inspect.sessions.deps.events.list(session.id, 0);
      const error = events.find((e) => e.type === "error");
      expect(error?.data).toMatchObject({ code: "checkout_failed" });
      const [prompt] = await listPrompts(database.db, session.id);
      expect(prompt.status).toBe("failed");
      expect((await getSession(database.db, session.id))?.status).toBe("failed");
      // The installation token (what the fake minted) never shows.
      const token = /ghs_installation_\w+/;
      expect(JSON.stringify(events)).not.toMatch(token);
      expect(output).not.toMatch(token);
      expect(await waitForNoProcesses(runnerTemp, 5_000)).toEqual([]);
    } finally {
      rmSync(runnerTemp, { recursive: true, force: true });
    }
  }, 60_000);
});
