/**
 * Local mode (no GitHub sign-in configured): the one local user sees the local
 * sessions, and only from this machine. Real app on a real socket; no GitHub at all.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../app/config.js";
import { upsertRepository } from "../../app/db/accounts.js";
import { insertSession } from "../../app/db/sessions.js";
import { verifyViewerToken } from "../../app/rooms/viewer-token.js";
import { createInspect, type Inspect } from "../../app/server.js";
import { freePort } from "../support/ports.js";

let inspect: Inspect;
let url: string;
let dataDir: string;
const ROOM_SECRET = "local-mode-room-secret-0123456789";

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "inspect-local-"));
  const port = await freePort();
  const config = loadConfig({ PORT: String(port), INSPECT_DATA_DIR: dataDir, INSPECT_PARTY_URL: `http://127.0.0.1:${await freePort()}`, INSPECT_ROOM_SECRET: ROOM_SECRET });
  inspect = await createInspect(config, { logLevel: "fatal" });
  await inspect.listen(port, "127.0.0.1");
  url = `http://127.0.0.1:${port}`;
  const db = inspect.database.db;
  const local = await upsertRepository(db, { owner: "local", name: "tools", localPath: "/srv/tools" });
  const remote = await upsertRepository(db, { owner: "acme", name: "widgets", githubId: 42 });
  const base = { threadKind: "local", threadNumber: null, status: "idle" as const, baseBranch: "main" };
  await insertSession(db, { ...base, id: "sessLocal1", repositoryId: local.id, title: "Local work", headBranch: "inspect/l1" });
  await insertSession(db, { ...base, id: "sessRemote", repositoryId: remote.id, title: "GitHub work", headBranch: "inspect/r1", threadKind: "issue", threadNumber: 1 });
});
afterAll(async () => {
  await inspect?.close();
  rmSync(dataDir, { recursive: true, force: true });
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
