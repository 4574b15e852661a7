/**
 * GitHub replaced at the HTTP boundary: a local server speaking the few endpoints
 * sign-in and access checks use, reached as a GHE host (GHE_HOST=127.0.0.1:port,
 * GHE_PROTOCOL=http), so our code runs its real HTTP paths.
 *
 * The user who "signs in" on the authorize page is taken from the `gh_user` cookie
 * on this origin (a browser test sets it per context) or the `login` query parameter.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeOAuthGitHubOptions {
  clientId: string;
  clientSecret: string;
  /**
   * login → "owner/name" → permissions; a missing repository answers 404 like GitHub does,
   * unless it is in `publicRepos`. `triage` defaults to `push`.
   */
  access: Record<string, Record<string, RepoAccess>>;
  /** "owner/name" of public repositories: every signed-in user reads them (pull only, unless `access` says more). */
  publicRepos?: string[];
  /**
   * Also answer as the GitHub App installed on these repositories ("owner/name" → repository id):
   * installation lookup, installation tokens, collaborator permissions (from `access`),
   * repository details, the installation's repository list and workflow dispatches. Starting
   * and warming sessions need it.
   */
  app?: { installationId: number; repos: Record<string, number> };
}

export interface RepoAccess {
  pull: boolean;
  push: boolean;
  triage?: boolean;
  maintain?: boolean;
  admin?: boolean;
}

export interface WorkflowDispatch {
  repo: string;
  workflow: string;
  ref: string;
  inputs: Record<string, string>;
}

export interface FakeOAuthGitHub {
  url: string;
  host: string;
  /** Requests seen, e.g. "GET /api/v3/repos/acme/widgets alice". */
  requests: string[];
  /** Workflow dispatches made as the App (runner dispatches), in order. */
  dispatches: WorkflowDispatch[];
  close(): Promise<void>;
}

const COLOURS = ["#6e40c9", "#1f883d", "#bc4c00", "#0969da", "#bf3989"];
const avatar = (login: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="${COLOURS[[...login].reduce((n, ch) => n + ch.charCodeAt(0), 0) % COLOURS.length]}"/></svg>`;

export async function startFakeOAuthGitHub(opts: FakeOAuthGitHubOptions): Promise<FakeOAuthGitHub> {
  const codes = new Map<string, string>(); // code → login
  const requests: string[] = [];
  const dispatches: WorkflowDispatch[] = [];
  let base = "";
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, base);
    let body = "";
    for await (const chunk of req) body += chunk;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const login = token?.startsWith("tok-") ? token.slice(4) : null;
    requests.push(`${req.method} ${url.pathname} ${login ?? "-"}`);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };

    if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const who = url.searchParams.get("login") ?? /(?:^|;\s*)gh_user=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
      if (!who || url.searchParams.get("client_id") !== opts.clientId) return json(400, { error: "who are you?" });
      const code = `code-${Math.random().toString(36).slice(2)}`;
      codes.set(code, who);
      const back = new URL(url.searchParams.get("redirect_uri")!);
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
      const p = JSON.parse(body || "{}");
      const who = codes.get(p.code);
      if (!who || p.client_secret !== opts.clientSecret) return json(200, { error: "bad_verification_code" });
      codes.delete(p.code);
      return json(200, { access_token: `tok-${who}`, token_type: "bearer", scope: "" });
    }
    if (req.method === "GET" && url.pathname.startsWith("/avatars/")) {
      res.writeHead(200, { "content-type": "image/svg+xml" });
      return res.end(avatar(url.pathname.slice("/avatars/".length).replace(/\.svg$/, "")));
    }
    if (opts.app) {
      const app = opts.app;
      const credential = /^(?:bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
      const asApp = credential.startsWith("eyJ"); // the App's JWT
      const asInstallation = credential === `ghs-installation-${app.installationId}`;
      const installed = (owner: string, name: string) => app.repos[`${owner}/${name}`];
      let m: RegExpExecArray | null;
      if (
        asApp &&
        req.method === "GET" &&
        (m = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(url.pathname))
      ) {
        return installed(m[1]!, m[2]!) ? json(200, { id: app.installationId }) : json(404, { message: "Not Found" });
      }
      if (
        asApp &&
        req.method === "POST" &&
        url.pathname === `/api/v3/app/installations/${app.installationId}/access_tokens`
      ) {
        return json(201, {
          token: `ghs-installation-${app.installationId}`,
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          permissions: {},
          repository_selection: "selected",
        });
      }
      if (asApp && req.method === "GET" && url.pathname === "/api/v3/app/installations") {
        return json(200, [{ id: app.installationId, account: { login: "acme" } }]);
      }
      if (asInstallation && req.method === "GET" && url.pathname === "/api/v3/installation/repositories") {
        const repositories = Object.entries(app.repos).map(([full_name, id]) => ({ id, full_name }));
        return json(200, { total_count: repositories.length, repositories });
      }
      if (
        asInstallation &&
        req.method === "GET" &&
        (m = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/.exec(url.pathname))
      ) {
        const perms = opts.access[m[3]!]?.[`${m[1]}/${m[2]}`];
        if (!perms) return json(404, { message: "Not Found" });
        const permission = perms.push ? "write" : perms.pull ? "read" : "none";
        return json(200, { permission, role_name: permission, user: { login: m[3] } });
      }
      if (asInstallation && req.method === "GET" && (m = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)$/.exec(url.pathname))) {
        const id = installed(m[1]!, m[2]!);
        return id
          ? json(200, { id, full_name: `${m[1]}/${m[2]}`, default_branch: "main", private: true })
          : json(404, { message: "Not Found" });
      }
      if (
        asInstallation &&
        req.method === "POST" &&
        (m = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/.exec(url.pathname))
      ) {
        if (!installed(m[1]!, m[2]!)) return json(404, { message: "Not Found" });
        const p = JSON.parse(body || "{}");
        dispatches.push({ repo: `${m[1]}/${m[2]}`, workflow: m[3]!, ref: p.ref, inputs: p.inputs ?? {} });
        res.writeHead(204);
        return res.end();
      }
    }
    if (!login) return json(401, { message: "Requires authentication" });
    if (req.method === "GET" && url.pathname === "/api/v3/user") {
      return json(200, { login, id: 1000 + login.length, name: login, avatar_url: `${base}/avatars/${login}.svg` });
    }
    const repo = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && repo) {
      const fullName = `${repo[1]}/${repo[2]}`;
      const isPublic = opts.publicRepos?.includes(fullName) ?? false;
      const perms = opts.access[login]?.[fullName] ?? (isPublic ? { pull: true, push: false } : undefined);
      if (!perms) return json(404, { message: "Not Found" });
      const permissions = {
        admin: perms.admin ?? false,
        maintain: perms.maintain ?? false,
        push: perms.push,
        triage: perms.triage ?? perms.push,
        pull: perms.pull,
      };
      return json(200, {
        full_name: fullName,
        private: !isPublic,
        visibility: isPublic ? "public" : "private",
        permissions,
      });
    }
    return json(404, { message: "Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    host: `127.0.0.1:${port}`,
    requests,
    dispatches,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
