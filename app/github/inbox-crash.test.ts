/**
 * The inbox against a real crash: `npm start`'s entry as a process in GitHub App mode (GitHub a
 * local fake on loopback, reached through GHE_HOST), killed with SIGKILL after it answered a
 * webhook 200 but before the request became a session; started again on the same data folder,
 * it handles the request: one session, one prompt, one 👀.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../db/client.js";
import { appPrivateKey } from "../../test/support/inspect.js";
import { freePort } from "../../test/support/ports.js";
import { until } from "../../test/support/wait.js";

const SECRET = "crash-test-webhook-secret";
const children: ChildProcess[] = [];
let github: Server | null = null;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "inspect-inbox-crash-"));
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  github?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** GitHub: answers what intake and reporters call; the permission check hangs while `hang` is set. */
async function fakeGitHub(state: { hang: boolean; calls: string[] }): Promise<number> {
  github = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = (req.url ?? "").replace(/^\/api\/v3/, "").split("?")[0]!;
      state.calls.push(`${req.method} ${url}`);
      const reply = (status: number, data: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(data === null ? undefined : JSON.stringify(data));
      };
      if (/\/access_tokens$/.test(url))
        return reply(201, { token: "ghs_x", expires_at: new Date(Date.now() + 3.6e6).toISOString() });
      if (url === "/app") return reply(200, { slug: "inspect" });
      if (/\/permission$/.test(url)) {
        if (state.hang) return; // never answered: the process dies waiting
        return reply(200, { permission: "write", role_name: "write" });
      }
      if (url === "/repos/acme/runner/installation") return reply(200, { id: 1 });
      if (url === "/repos/acme/runner") return reply(200, { id: 99, default_branch: "main", private: true });
      if (/dispatches$/.test(url)) return reply(204, null);
      if (req.method === "POST") return reply(201, { id: 1000 + state.calls.length });
      return reply(200, {});
    });
  });
  await new Promise<void>((r) => github!.listen(0, "127.0.0.1", r));
  return (github.address() as { port: number }).port;
}

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "app/main.ts"], {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return { child, output: () => out, exited };
}

describe("a control plane killed after answering a webhook", () => {
  it("handles the stored request when it starts again: one session, one prompt, one 👀", async () => {
    const state = { hang: true, calls: [] as string[] };
    const ghPort = await fakeGitHub(state);
    const port = await freePort();
    const env = {
      PORT: String(port),
      INSPECT_DATA_DIR: dataDir,
      INSPECT_SECRET: "c".repeat(40),
      APP_ID: "1",
      PRIVATE_KEY: appPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: `127.0.0.1:${ghPort}`,
      GHE_PROTOCOL: "http",
      INSPECT_RUNNER: "actions",
      INSPECT_RUNNER_REPO: "acme/runner",
      INSPECT_PARTY_URL: "http://127.0.0.1:9",
      LOG_LEVEL: "warn",
    };
    const first = start(env);
    await until("the first control plane", () => first.output().includes("Inspect is running"), 60_000);

    const payload = {
      action: "created",
      installation: { id: 5 },
      repository: { id: 77, name: "widgets", owner: { login: "acme" }, default_branch: "main", private: true },
      sender: { login: "alice", id: 7, type: "User" },
      issue: { number: 3, title: "Crash", body: "b", html_url: "http://x/3" },
      comment: { id: 4242, body: "@inspect survive this", user: { login: "alice", id: 7, type: "User" } },
    };
    const body = JSON.stringify(payload);
    const res = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issue_comment",
        "x-github-delivery": "crash-1",
        "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
      },
      body,
    });
    expect(res.status).toBe(200);
    // It got as far as asking GitHub who alice is, and no further.
    await until("the permission check", () => state.calls.some((c) => c.endsWith("/collaborators/alice/permission")));
    first.child.kill("SIGKILL");
    await first.exited;
    expect(state.calls.filter((c) => c.includes("reactions"))).toEqual([]);

    state.hang = false;
    const second = start(env);
    await until("the second control plane", () => second.output().includes("Inspect is running"), 60_000);
    await until("the 👀", () => state.calls.some((c) => c.endsWith("/issues/comments/4242/reactions")), 30_000);
    await until("the runner dispatch", () => state.calls.some((c) => c.endsWith("/dispatches")), 30_000);
    second.child.kill("SIGTERM");
    await second.exited;

    expect(state.calls.filter((c) => c.endsWith("/issues/comments/4242/reactions"))).toHaveLength(1);
    const database = await openDatabase({ dataDir });
    try {
      const rows = async (sql: string) => ((await database.db.execute(sql)) as unknown as { rows: any[] }).rows;
      const sessions = await rows("SELECT id FROM sessions WHERE thread_number = 3");
      expect(sessions).toHaveLength(1);
      expect(await rows(`SELECT text FROM prompts WHERE session_id = '${sessions[0].id}'`)).toEqual([
        { text: "@inspect survive this" },
      ]);
      const [delivery] = await rows("SELECT attempts, done_at FROM webhook_deliveries WHERE id = 'crash-1'");
      expect(delivery.done_at).not.toBeNull();
    } finally {
      await database.close();
    }
  }, 180_000);
});
