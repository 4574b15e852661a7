/**
 * GitHubAccess.canRead/canWrite against GitHub answers served over real HTTP by a
 * local server: permissions come from GET /repos/{owner}/{repo} with the viewer's own
 * token, definitive answers are cached briefly, failures deny without being cached.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Viewer } from "../api/access.js";
import type { RepositoryRow } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { GitHubAccess } from "./access.js";

let server: http.Server;
let apiUrl: string;
const seen: string[] = [];
/** "owner/name" → what GitHub answers for it. */
let answers: Record<string, { status: number; body?: unknown }> = {};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.url} ${req.headers.authorization}`);
    const a = answers[req.url!.replace("/api/v3/repos/", "")] ?? { status: 404, body: { message: "Not Found" } };
    res.writeHead(a.status, { "content-type": "application/json" });
    res.end(JSON.stringify(a.body ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
  answers = {};
});

const access = (cacheMs = 60_000, publicSessions: "collaborators" | "everyone" = "collaborators") =>
  new GitHubAccess({
    config: {
      oauth: { clientId: "x", clientSecret: "y" },
      github: { webUrl: "http://ghe", apiUrl } as never,
      publicSessions,
    },
    db: null as unknown as Db,
    secret: "s".repeat(40),
    remoteAddress: () => undefined,
    cacheMs,
  });
const viewer: Viewer = { login: "ann", id: 1, avatarUrl: null, token: "tok-ann", local: false };
const repo = (fullName: string, localPath: string | null = null) =>
  ({ id: 1, fullName, owner: fullName.split("/")[0], name: fullName.split("/")[1], localPath }) as RepositoryRow;

describe("GitHubAccess", () => {
  it("reads pull and push from GitHub's answer, asked with the viewer's token", async () => {
    answers["acme/app"] = { status: 200, body: { private: true, permissions: { pull: true, push: false } } };
    const a = access();
    expect(await a.canRead(viewer, repo("acme/app"))).toBe(true);
    expect(await a.canWrite(viewer, repo("acme/app"))).toBe(false);
    expect(seen).toEqual(["/api/v3/repos/acme/app Bearer tok-ann"]); // one request: cached
  });

  it("treats 404 (GitHub hides private repositories) as no access", async () => {
    expect(await access().canRead(viewer, repo("acme/private"))).toBe(false);
  });

  it("asks again once the cache entry expires", async () => {
    answers["acme/app"] = { status: 200, body: { private: true, permissions: { pull: true } } };
    const a = access(50);
    expect(await a.canRead(viewer, repo("acme/app"))).toBe(true);
    answers["acme/app"] = { status: 404 }; // access revoked
    expect(await a.canRead(viewer, repo("acme/app"))).toBe(true); // still cached
    await new Promise((r) => setTimeout(r, 80));
    expect(await a.canRead(viewer, repo("acme/app"))).toBe(false);
  });

  it("denies on a GitHub error without caching it", async () => {
    answers["acme/app"] = { status: 502 };
    const a = access();
    expect(await a.canRead(viewer, repo("acme/app"))).toBe(false);
    answers["acme/app"] = { status: 200, body: { private: true, permissions: { pull: true } } };
    expect(await a.canRead(viewer, repo("acme/app"))).toBe(true);
  });

  it("public repositories: sessions for collaborators (triage or more) only, unless opened to everyone", async () => {
    const pub = (
      permissions: Record<string, boolean>,
      extra: Record<string, unknown> = { private: false, visibility: "public" },
    ) => ({ status: 200, body: { ...extra, permissions: { pull: true, ...permissions } } });
    answers["acme/reader"] = pub({});
    answers["acme/triager"] = pub({ triage: true });
    answers["acme/writer"] = pub({ triage: true, push: true });
    answers["acme/maintainer"] = pub({ maintain: true });
    answers["acme/admin"] = pub({ admin: true });
    answers["acme/unsaid"] = pub({}, {}); // neither private nor visibility: the stricter rule
    answers["acme/internal"] = pub({}, { private: true, visibility: "internal" });
    const strict = access();
    const open = access(60_000, "everyone");
    expect(await strict.canRead(viewer, repo("acme/reader"))).toBe(false);
    expect(await open.canRead(viewer, repo("acme/reader"))).toBe(true);
    for (const r of ["acme/triager", "acme/writer", "acme/maintainer", "acme/admin"]) {
      expect(await strict.canRead(viewer, repo(r)), r).toBe(true);
      expect(await open.canRead(viewer, repo(r)), r).toBe(true);
    }
    expect(await strict.canWrite(viewer, repo("acme/triager"))).toBe(false);
    expect(await strict.canWrite(viewer, repo("acme/maintainer"))).toBe(true);
    expect(await strict.canRead(viewer, repo("acme/unsaid"))).toBe(false);
    expect(await strict.canRead(viewer, repo("acme/internal"))).toBe(true); // enterprise members only: not public
    answers["acme/nopull"] = { status: 200, body: { private: false, permissions: { pull: false } } };
    expect(await open.canRead(viewer, repo("acme/nopull"))).toBe(false);
  });

  it("never shows local repositories to GitHub users, nor GitHub ones to the local user", async () => {
    const local: Viewer = { login: "local", id: null, avatarUrl: null, token: null, local: true };
    expect(await access().canRead(viewer, repo("local/tools", "/srv/tools"))).toBe(false);
    expect(await access().canRead(local, repo("local/tools", "/srv/tools"))).toBe(true);
    expect(await access().canRead(local, repo("acme/app"))).toBe(false);
    expect(seen).toEqual([]);
  });
});
