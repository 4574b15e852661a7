/**
 * Local mode (no GitHub sign-in configured): the one local user sees the local
 * sessions, and only from this machine, and can warm a sandbox on a local repository
 * (a real runner process is started for it). Real app on a real socket; no GitHub at all.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../app/config.js";
import { upsertRepository } from "../../app/db/accounts.js";
import { listPrompts } from "../../app/db/prompts.js";
import { getSession, insertSession } from "../../app/db/sessions.js";
import { sessions } from "../../app/db/schema.js";
import { verifyViewerToken } from "../../protocol/viewer-token.js";
import { createInspect, type Inspect } from "../../app/server.js";
import { freePort } from "../support/ports.js";

let inspect: Inspect;
let url: string;
let dataDir: string;
let repoDir: string;
const ROOM_SECRET = "local-mode-room-secret-0123456789";

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "inspect-local-"));
  repoDir = mkdtempSync(path.join(os.tmpdir(), "inspect-local-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: repoDir,
      stdio: "ignore",
    });
  git("init", "-q", "-b", "main");
  // The developer's identity in the repository itself: local sessions are authored as it, and
  // the machine running the tests may have no global one.
  git("config", "user.name", "Dev Eloper");
  git("config", "user.email", "dev@example.com");
  writeFileSync(path.join(repoDir, "README.md"), "tools\n");
  git("add", ".");
  git("commit", "-q", "-m", "init");
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    INSPECT_DATA_DIR: dataDir,
    INSPECT_PARTY_URL: `http://127.0.0.1:${await freePort()}`,
    INSPECT_ROOM_SECRET: ROOM_SECRET,
    INSPECT_POOL_SIZE: "0",
    INSPECT_BROWSER: "off",
  });
  inspect = await createInspect(config, { logLevel: "fatal" });
  await inspect.listen(port, "127.0.0.1");
  url = `http://127.0.0.1:${port}`;
  const db = inspect.database.db;
  const local = await upsertRepository(db, { owner: "local", name: "tools", localPath: "/srv/tools" });
  const remote = await upsertRepository(db, { owner: "acme", name: "widgets", githubId: 42 });
  const base = { threadKind: "local", threadNumber: null, status: "idle" as const, baseBranch: "main" };
  await insertSession(db, {
    ...base,
    id: "sessLocal1",
    repositoryId: local.id,
    title: "Local work",
    headBranch: "inspect/l1",
  });
  await insertSession(db, {
    ...base,
    id: "sessRemote",
    repositoryId: remote.id,
    title: "GitHub work",
    headBranch: "inspect/r1",
    threadKind: "issue",
    threadNumber: 1,
  });
});
afterAll(async () => {
  await inspect?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(repoDir, { recursive: true, force: true });
});

it("serves the local user on loopback: local sessions only", async () => {
  const list = await (await fetch(`${url}/`)).text();
  expect(list).toContain("Local work");
  expect(list).not.toContain("GitHub work");
  expect((await fetch(`${url}/sessions/sessLocal1`)).status).toBe(200);
  expect((await fetch(`${url}/sessions/sessRemote`)).status).toBe(403);
});

it("signs room tokens for the local user", async () => {
  const res = await fetch(`${url}/api/sessions/sessLocal1/room-token`);
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  expect((await verifyViewerToken(ROOM_SECRET, token, "sessLocal1"))?.sub).toBe("local");
});

it("refuses requests that do not come over a loopback socket", async () => {
  const res = await inspect.app.request("/sessions/sessLocal1", { headers: { accept: "text/html" } });
  expect(res.status).toBe(403);
  // The session API's own guard answers first for /api/sessions/* (401: no viewer).
  const token = await inspect.app.request("/api/sessions/sessLocal1/room-token");
  expect([401, 403]).toContain(token.status);
  expect(await token.json()).not.toHaveProperty("token");
});

/** A raw request over loopback with chosen headers (fetch will not let us set Host). */
function rawGet(pathname: string, headers: Record<string, string>): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: pathname, headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on("error", reject);
  });
}

it("refuses loopback requests that were proxied or carry a foreign Host (DNS rebinding)", async () => {
  expect(await rawGet("/sessions/sessLocal1", { host: "localhost" })).toBe(200);
  expect(await rawGet("/sessions/sessLocal1", { host: "attacker.example" })).toBe(403);
  expect(await rawGet("/sessions/sessLocal1", { host: "127.0.0.1", "x-forwarded-for": "203.0.113.9" })).toBe(403);
  expect(await rawGet("/api/sessions/sessLocal1/room-token", { host: "attacker.example" })).not.toBe(200);
});

it("has no sign-in to offer", async () => {
  const res = await fetch(`${url}/auth/login`);
  expect(res.status).toBe(404);
  expect(((await res.json()) as { error: string }).error).toMatch(/not configured/);
});

it("attributes a follow-up queued from the session page to the web, not the CLI", async () => {
  const res = await fetch(`${url}/api/sessions/sessLocal1/prompts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "and the docs" }),
  });
  expect(res.status).toBe(201);
  const prompts = await listPrompts(inspect.database.db, "sessLocal1");
  expect(prompts.at(-1)).toMatchObject({ text: "and the docs", source: "web" });
});

it("warms a sandbox on a local repository: a warm session, and a runner that claims it", async () => {
  const warmup = (repo: string) =>
    fetch(`${url}/api/warmup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ repo }),
    });
  const db = inspect.database.db;
  const warm = () =>
    db
      .select()
      .from(sessions)
      .then((rows) => rows.filter((s) => s.threadKind === "warm"));

  // Not a git repository: refused, nothing warmed.
  const refused = await warmup(dataDir);
  expect(refused.status).toBe(202);
  expect(await refused.json()).toEqual({ warming: false });
  expect(await warm()).toEqual([]);

  const res = await warmup(repoDir);
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ warming: true });
  const rows = await warm();
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ baseBranch: "main", headBranch: `inspect/${rows[0]!.id}` });
  // The runner process started for it claims the session (queued → starting, then idle when ready).
  const deadline = Date.now() + 60_000;
  let status = rows[0]!.status;
  while (status === "queued" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    status = (await getSession(db, rows[0]!.id))!.status;
  }
  expect(["starting", "idle"]).toContain(status);
  // Not a session yet: the list does not show it.
  expect(await (await fetch(`${url}/`)).text()).not.toContain(rows[0]!.id);
  // Stop it rather than leave the runner waiting for a prompt until the app closes.
  expect((await fetch(`${url}/api/sessions/${rows[0]!.id}/stop`, { method: "POST" })).status).toBe(200);
}, 90_000);
