/**
 * A fake GitHub Enterprise host: one loopback HTTP server serving both `/api/v3/...` (REST,
 * recorded) and `/{owner}/{repo}.git/...` through `git http-backend` (CGI) over a local bare
 * repository. Git requests must carry a token the app minted for this repository (the sandbox
 * sends it as an `Authorization: Basic` extra header), with contents:write to push; anything else gets 401.
 *
 * REST answers what the control plane calls for an issue or PR thread (tokens, permission,
 * reactions, comments, pulls, check runs) and, for `actions` mode, the runner repository (its
 * installation and id), the runner workflow's dispatch (recorded in `dispatches`; each starts a
 * workflow run, answered as GitHub does since 2026-02 — 200 with the run's id when asked with
 * `return_run_details` — or, with `dispatchAnswer = "no-content"`, 204 as older GitHub Enterprise
 * Server) and those runs (`GET …/actions/runs/{id}`, the run-name as `display_title`; `POST
 * …/actions/runs/{id}/cancel`, recorded in `cancelled`).
 *
 * `failGit` injects git failures: the next N authorised requests matching a method and a path
 * suffix are answered with an HTTP error instead of being served (for testing retries).
 */
import { execFileSync, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { workflowRunJson, type FakeWorkflowRun } from "./fake-github.js";
import { githubEnv } from "./inspect.js";
import { RUNNER_REPOSITORY_ID } from "./runner-client.js";

export interface RestCall {
  method: string;
  path: string;
  query: URLSearchParams;
  body: any;
  /** Authorization header as sent: `bearer <jwt>` (app) or `token <installation token>`. */
  auth: string;
}

export interface GitCall {
  method: string;
  /** Path under the repository, e.g. /info/refs or /git-receive-pack. */
  path: string;
  service: string | null;
  auth: string;
  status: number;
  /** Answered by a `failGit` injection rather than by git. */
  injected?: boolean;
}

/** A pending `failGit` injection; `remaining` counts down as requests are failed. */
export interface GitFailure {
  method: string;
  pathSuffix: string;
  remaining: number;
  status: number;
}

export interface MintedToken {
  token: string;
  installationId: number;
  body: any;
}

export interface FakePull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

export interface FakeGheOptions {
  /** Owner of the repository and of the runner repository (default acme). */
  owner?: string;
  /** The repository served over git, behind `bareDir` (default widgets). */
  repo?: string;
  /** The app's slug, as `GET /app` answers (default inspect-widgets). */
  botSlug?: string;
  /** The installation that covers `repo` (the webhook payloads' 77); only its tokens open git. */
  installationId?: number;
  /** The repository holding the runner workflow, `actions` mode (default inspect-runner). */
  runnerRepo?: string;
  /** The installation `GET /repos/{owner}/{runnerRepo}/installation` answers (default 88). */
  runnerInstallationId?: number;
  /** The runner repository's numeric id (default RUNNER_REPOSITORY_ID). */
  runnerRepositoryId?: number;
}

/** A `workflow_dispatch` the fake accepted. */
export interface WorkflowDispatch {
  repo: string;
  workflow: string;
  ref: string;
  inputs: Record<string, unknown>;
  auth: string;
  /** The workflow run it started. */
  runId: number;
  /** The dispatch asked for the run's id (`return_run_details: true`). */
  returnRunDetails: boolean;
}

export interface FakeGhe {
  port: number;
  host: string;
  webUrl: string;
  rest: RestCall[];
  git: GitCall[];
  tokens: MintedToken[];
  dispatches: WorkflowDispatch[];
  workflowRuns: FakeWorkflowRun[];
  /** Workflow runs cancelled through the API, in order. */
  cancelled: number[];
  /** `run-details` (default): 200 + `workflow_run_id` when asked; `no-content`: always 204 (older GHES). */
  dispatchAnswer: "run-details" | "no-content";
  pulls: Map<number, FakePull>;
  permissions: Map<string, string>;
  find(method: string, re: RegExp): RestCall[];
  /**
   * Answer the next `times` authorised git requests whose method is `method` and whose path
   * (under the repository) ends with `pathSuffix` with `status` (default 502), body unread.
   * `times` may be Infinity. Injections are checked in the order they were added.
   */
  failGit(method: string, pathSuffix: string, times: number, status?: number): GitFailure;
  close(): Promise<void>;
}

/**
 * Start the fake on a loopback port. `gitRoot` is the CGI's project root; `bareDir` the bare
 * repository at `<gitRoot>/<owner>/<repo>.git` (its branches answer the pulls' head/base).
 */
export async function startFakeGhe(gitRoot: string, bareDir: string, options: FakeGheOptions = {}): Promise<FakeGhe> {
  const OWNER = options.owner ?? "acme";
  const REPO = options.repo ?? "widgets";
  const BOT_SLUG = options.botSlug ?? "inspect-widgets";
  const INSTALLATION = options.installationId ?? 77;
  const RUNNER_REPO = options.runnerRepo ?? "inspect-runner";
  const rest: RestCall[] = [];
  const dispatches: WorkflowDispatch[] = [];
  const workflowRuns: FakeWorkflowRun[] = [];
  const cancelled: number[] = [];
  let nextRunId = 20_000_000_000;
  const gitCalls: GitCall[] = [];
  const gitFailures: GitFailure[] = [];
  const tokens: MintedToken[] = [];
  const pulls = new Map<number, FakePull>();
  const permissions = new Map<string, string>();
  let nextId = 7000;
  let port = 0;
  const webUrl = () => `http://127.0.0.1:${port}`;
  const branchSha = (branch: string): string | null => {
    try {
      return execFileSync("git", ["--git-dir", bareDir, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], {
        encoding: "utf8",
      }).trim();
    } catch {
      return null;
    }
  };
  const pullJson = (p: FakePull) => ({
    number: p.number,
    state: "open",
    draft: p.draft,
    title: p.title,
    body: p.body,
    html_url: `${webUrl()}/${OWNER}/${REPO}/pull/${p.number}`,
    head: { ref: p.head, sha: branchSha(p.head), repo: { full_name: `${OWNER}/${REPO}` } },
    base: { ref: p.base, sha: branchSha(p.base), repo: { full_name: `${OWNER}/${REPO}` } },
  });

  type Route = [string, RegExp, (m: RegExpMatchArray, call: RestCall) => [number, unknown?]];
  const repo = `/repos/${OWNER}/${REPO}`;
  const runnerRepo = `/repos/${OWNER}/${RUNNER_REPO}`;
  const routes: Route[] = [
    [
      "POST",
      /^\/app\/installations\/(\d+)\/access_tokens$/,
      (m, call) => {
        const token = `ghs_fake${String(++nextId).padStart(8, "0")}`;
        tokens.push({ token, installationId: Number(m[1]), body: call.body ?? {} });
        return [
          201,
          {
            token,
            expires_at: new Date(Date.now() + 3_600_000).toISOString(),
            permissions: call.body?.permissions ?? {
              contents: "write",
              issues: "write",
              pull_requests: "write",
              checks: "write",
            },
            repository_selection: "selected",
          },
        ];
      },
    ],
    ["GET", /^\/app$/, () => [200, { id: 1, slug: BOT_SLUG, name: "Inspect" }]],
    [
      "GET",
      new RegExp(`^${repo}$`),
      () => [200, { id: 4242, name: REPO, full_name: `${OWNER}/${REPO}`, default_branch: "main", private: true }],
    ],
    [
      "GET",
      new RegExp(`^${repo}/collaborators/([^/]+)/permission$`),
      (m) => {
        const permission = permissions.get(m[1]!) ?? "none";
        return [200, { permission, role_name: permission, user: { login: m[1] } }];
      },
    ],
    [
      "POST",
      new RegExp(`^${repo}/issues/comments/\\d+/reactions$`),
      (_m, call) => [201, { id: ++nextId, content: call.body?.content }],
    ],
    [
      "POST",
      new RegExp(`^${repo}/issues/\\d+/reactions$`),
      (_m, call) => [201, { id: ++nextId, content: call.body?.content }],
    ],
    [
      "POST",
      new RegExp(`^${repo}/issues/(\\d+)/comments$`),
      (m, call) => {
        const id = ++nextId;
        return [
          201,
          { id, body: call.body?.body, html_url: `${webUrl()}/${OWNER}/${REPO}/issues/${m[1]}#issuecomment-${id}` },
        ];
      },
    ],
    [
      "PATCH",
      new RegExp(`^${repo}/issues/comments/(\\d+)$`),
      (m, call) => [200, { id: Number(m[1]), body: call.body?.body }],
    ],
    [
      "POST",
      new RegExp(`^${repo}/pulls$`),
      (_m, call) => {
        const b = call.body ?? {};
        // As GitHub: the head branch must exist, and one open PR per head.
        if (!branchSha(b.head))
          return [
            422,
            { message: "Validation Failed", errors: [{ resource: "PullRequest", field: "head", code: "invalid" }] },
          ];
        if ([...pulls.values()].some((p) => p.head === b.head))
          return [
            422,
            {
              message: "Validation Failed",
              errors: [{ message: `A pull request already exists for ${OWNER}:${b.head}.` }],
            },
          ];
        const number = ++nextId;
        const pr: FakePull = {
          number,
          head: b.head,
          base: b.base,
          title: b.title,
          body: b.body,
          draft: Boolean(b.draft),
        };
        pulls.set(number, pr);
        return [201, pullJson(pr)];
      },
    ],
    [
      "GET",
      new RegExp(`^${repo}/pulls$`),
      (_m, call) => {
        const head = call.query.get("head")?.split(":").pop();
        return [200, [...pulls.values()].filter((p) => !head || p.head === head).map(pullJson)];
      },
    ],
    [
      "GET",
      new RegExp(`^${repo}/git/ref/heads/(.+)$`),
      (m) => {
        const sha = branchSha(decodeURIComponent(m[1]!));
        return sha
          ? [200, { ref: `refs/heads/${m[1]}`, object: { sha, type: "commit" } }]
          : [404, { message: "Not Found" }];
      },
    ],
    [
      "GET",
      new RegExp(`^${repo}/pulls/(\\d+)$`),
      (m) => {
        const pr = pulls.get(Number(m[1]));
        return pr ? [200, pullJson(pr)] : [404, { message: "Not Found" }];
      },
    ],
    [
      "PATCH",
      new RegExp(`^${repo}/pulls/(\\d+)$`),
      (m, call) => {
        const pr = pulls.get(Number(m[1]));
        if (!pr) return [404, { message: "Not Found" }];
        if (typeof call.body?.body === "string") pr.body = call.body.body;
        return [200, pullJson(pr)];
      },
    ],
    [
      "POST",
      new RegExp(`^${repo}/check-runs$`),
      (_m, call) => [
        201,
        { id: ++nextId, name: call.body?.name, head_sha: call.body?.head_sha, status: call.body?.status },
      ],
    ],
    [
      "PATCH",
      new RegExp(`^${repo}/check-runs/(\\d+)$`),
      (m, call) => [200, { id: Number(m[1]), status: call.body?.status, conclusion: call.body?.conclusion ?? null }],
    ],
    // `actions` mode: the app finds its installation on the runner repository, then dispatches the workflow there.
    [
      "GET",
      new RegExp(`^${runnerRepo}/installation$`),
      () => [200, { id: options.runnerInstallationId ?? 88, app_slug: BOT_SLUG, account: { login: OWNER } }],
    ],
    [
      "POST",
      new RegExp(`^${runnerRepo}/actions/workflows/([^/]+)/dispatches$`),
      (m, call) => {
        // As GitHub: a ref is required, and inputs are strings.
        const inputs = call.body?.inputs ?? {};
        if (typeof call.body?.ref !== "string" || Object.values(inputs).some((v) => typeof v !== "string"))
          return [422, { message: "Invalid request" }];
        const run: FakeWorkflowRun = {
          id: ++nextRunId,
          repo: `${OWNER}/${RUNNER_REPO}`,
          workflow: decodeURIComponent(m[1]!),
          ref: call.body.ref,
          // The template's run-name: ${{ inputs.session_id || inputs.slot_id }}.
          sessionId: String(inputs.session_id || inputs.slot_id || ""),
          createdAt: new Date(),
          actor: `${BOT_SLUG}[bot]`,
        };
        workflowRuns.push(run);
        const returnRunDetails = call.body.return_run_details === true;
        dispatches.push({
          repo: run.repo,
          workflow: run.workflow,
          ref: run.ref,
          inputs,
          auth: call.auth,
          runId: run.id,
          returnRunDetails,
        });
        if (!returnRunDetails || fake.dispatchAnswer === "no-content") return [204];
        return [
          200,
          {
            workflow_run_id: run.id,
            run_url: `${webUrl()}/api/v3${runnerRepo}/actions/runs/${run.id}`,
            html_url: `${webUrl()}/${run.repo}/actions/runs/${run.id}`,
          },
        ];
      },
    ],
    [
      "GET",
      new RegExp(`^${runnerRepo}/actions/runs/(\\d+)$`),
      (m) => {
        const run = workflowRuns.find((r) => r.id === Number(m[1]));
        return run ? [200, workflowRunJson(run, webUrl())] : [404, { message: "Not Found" }];
      },
    ],
    [
      "POST",
      new RegExp(`^${runnerRepo}/actions/runs/(\\d+)/cancel$`),
      (m) => {
        const run = workflowRuns.find((r) => r.id === Number(m[1]));
        if (!run) return [404, { message: "Not Found" }];
        // As GitHub: a run that already finished cannot be cancelled.
        if (run.status === "cancelled") return [409, { message: "Cannot cancel a workflow run that is completed." }];
        run.status = "cancelled";
        cancelled.push(run.id);
        return [202, {}];
      },
    ],
    [
      "GET",
      new RegExp(`^${runnerRepo}$`),
      () => [
        200,
        {
          id: options.runnerRepositoryId ?? RUNNER_REPOSITORY_ID,
          name: RUNNER_REPO,
          full_name: `${OWNER}/${RUNNER_REPO}`,
          default_branch: "main",
          private: true,
        },
      ],
    ],
  ];

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL) {
    const raw = await readBody(req);
    let body: any = undefined;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        body = raw.toString("utf8");
      }
    }
    const call: RestCall = {
      method: req.method ?? "GET",
      path: url.pathname.slice("/api/v3".length),
      query: url.searchParams,
      body,
      auth: String(req.headers.authorization ?? ""),
    };
    rest.push(call);
    for (const [method, re, fn] of routes) {
      if (method !== call.method) continue;
      const m = call.path.match(re);
      if (!m) continue;
      const [status, payload] = fn(m, call);
      res.writeHead(status, { "content-type": "application/json" });
      return res.end(payload === undefined ? "" : JSON.stringify(payload));
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: `fake GHE: no route for ${call.method} ${call.path}` }));
  }

  /** Git smart HTTP through `git http-backend`, only with a token minted for this repository. */
  function handleGit(req: IncomingMessage, res: ServerResponse, url: URL, repoPath: string, rest: string) {
    const auth = String(req.headers.authorization ?? "");
    const call: GitCall = {
      method: req.method ?? "GET",
      path: rest,
      service: url.searchParams.get("service"),
      auth,
      status: 0,
    };
    gitCalls.push(call);
    // As GitHub: contents:read fetches (a pooled sandbox before its session), only contents:write pushes.
    const pushing = call.service === "git-receive-pack" || rest.endsWith("/git-receive-pack");
    const allowed = tokens
      .filter(
        (t) =>
          t.installationId === INSTALLATION &&
          Array.isArray(t.body.repositories) &&
          t.body.repositories.includes(REPO) &&
          (t.body.permissions?.contents === "write" || (!pushing && t.body.permissions?.contents === "read")),
      )
      .map((t) => `Basic ${Buffer.from(`x-access-token:${t.token}`).toString("base64")}`);
    if (repoPath !== `/${OWNER}/${REPO}.git` || !allowed.includes(auth)) {
      req.resume();
      call.status = 401;
      res.writeHead(401, { "www-authenticate": 'Basic realm="fake GitHub"', "content-type": "text/plain" });
      return res.end("Unauthorized\n");
    }
    const failure = gitFailures.find((f) => f.remaining > 0 && f.method === call.method && rest.endsWith(f.pathSuffix));
    if (failure) {
      failure.remaining--;
      req.resume();
      call.status = failure.status;
      call.injected = true;
      res.writeHead(failure.status, { "content-type": "text/plain" });
      return res.end(`fake GitHub: injected ${failure.status}\n`);
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: gitRoot,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_PROJECT_ROOT: gitRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: `${repoPath}${rest}`,
      QUERY_STRING: url.search.replace(/^\?/, ""),
      CONTENT_TYPE: String(req.headers["content-type"] ?? ""),
      REMOTE_USER: "x-access-token",
      REMOTE_ADDR: "127.0.0.1",
    };
    if (req.headers["content-length"]) env.CONTENT_LENGTH = String(req.headers["content-length"]);
    if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
    if (req.headers["git-protocol"]) env.HTTP_GIT_PROTOCOL = String(req.headers["git-protocol"]);
    const cgi = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    let stderr = "";
    cgi.stderr.on("data", (c) => (stderr += c));
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      call.status = status;
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", (code) => {
      if (!headersDone) {
        call.status = 500;
        res.writeHead(500, { "content-type": "text/plain" });
        return res.end(`git http-backend exited ${code}: ${stderr}`);
      }
      res.end();
    });
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const gitMatch = url.pathname.match(/^(\/[^/]+\/[^/]+\.git)(\/.*)$/);
    const work = url.pathname.startsWith("/api/v3/")
      ? handleRest(req, res, url)
      : gitMatch
        ? Promise.resolve(handleGit(req, res, url, gitMatch[1]!, gitMatch[2]!))
        : Promise.resolve(void res.writeHead(404).end());
    work.catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  const fake: FakeGhe = {
    port,
    host: `127.0.0.1:${port}`,
    webUrl: webUrl(),
    rest,
    git: gitCalls,
    tokens,
    dispatches,
    workflowRuns,
    cancelled,
    dispatchAnswer: "run-details",
    pulls,
    permissions,
    find: (method, re) => rest.filter((c) => c.method === method && re.test(c.path)),
    failGit: (method, pathSuffix, times, status = 502) => {
      const failure: GitFailure = { method: method.toUpperCase(), pathSuffix, remaining: times, status };
      gitFailures.push(failure);
      return failure;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * The git requests of one runner, consecutive repeats folded (protocol v2 posts to
 * git-upload-pack more than once: ls-refs, then fetch).
 */
export function gitConversation(calls: GitCall[]): string[] {
  const lines = calls.map((c) => `${c.method} ${c.path}${c.service ? `?service=${c.service}` : ""} → ${c.status}`);
  return lines.filter((line, i) => line !== lines[i - 1]);
}

/** A clone (or fetch), then a push. */
export const CLONE_THEN_PUSH = [
  "GET /info/refs?service=git-upload-pack → 200",
  "POST /git-upload-pack → 200",
  "GET /info/refs?service=git-receive-pack → 200",
  "POST /git-receive-pack → 200",
];

/** The Authorization header git sends for a token given as `x-access-token`. */
export const basic = (token: string) => `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;

/**
 * The control plane's environment for a test against the fake host: GitHub App on the fake's
 * host, OpenCode on the scripted model, short idle/setup/heartbeat timeouts; `extra` on top.
 */
export function fakeGheEnv(
  fake: FakeGhe,
  model: { opencodeProvider(): unknown },
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return githubEnv({
    GHE_HOST: fake.host,
    GHE_PROTOCOL: "http",
    INSPECT_RUNNER: "local",
    INSPECT_DATA_DIR: dataDir,
    INSPECT_MODEL: "scripted/scripted-model",
    INSPECT_OPENCODE_CONFIG: JSON.stringify({ provider: model.opencodeProvider() }),
    // Short: runners exit on their own soon after a turn.
    INSPECT_IDLE_TIMEOUT: "2",
    INSPECT_SETUP_TIMEOUT: "30",
    INSPECT_HEARTBEAT_TIMEOUT: "30",
    ...extra,
  });
}
