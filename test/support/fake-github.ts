/**
 * GitHub's REST API replaced at the HTTP boundary (nock): a small routing
 * table answering what Inspect calls, recording every request for assertions.
 */
import nock from "nock";
import { RUNNER_REPOSITORY_ID } from "./runner-client.js";

/** A workflow run the fake started for a `workflow_dispatch`. */
export interface FakeWorkflowRun {
  id: number;
  repo: string;
  workflow: string;
  ref: string;
  /** Its run-name: the session's id, or the pool slot's (`inputs.session_id || inputs.slot_id`). */
  sessionId: string;
  createdAt: Date;
  /** Who dispatched it (`<slug>[bot]` for the app). */
  actor: string;
  /** What started it (default workflow_dispatch). */
  event?: string;
  /** queued until cancelled through the API. */
  status?: "queued" | "cancelled";
}

export interface Call {
  method: string;
  path: string;
  body: any;
  /** The Authorization header: who the request was made as. */
  auth: string;
}

type Handler = (m: RegExpMatchArray, body: any, call: Call) => [number, unknown?] | Promise<[number, unknown?]>;

export class FakeGitHub {
  readonly calls: Call[] = [];
  readonly permissions = new Map<string, string>();
  /** Workflow runs started by dispatches, in order. */
  readonly workflowRuns: FakeWorkflowRun[] = [];
  /**
   * How a dispatch is answered: `run-details` — 200 with the run's id when asked for
   * (`return_run_details`, GitHub since 2026-02); `no-content` — 204, as older GitHub Enterprise;
   * `rejects-run-details` — 422 for the unknown parameter, 204 without it.
   */
  dispatchAnswer: "run-details" | "no-content" | "rejects-run-details" = "run-details";
  private readonly routes: { method: string; re: RegExp; fn: Handler }[] = [];
  /** Ids are unique across instances, as GitHub's are (tests share one database). */
  private static nextId = 9000;
  /** Workflow run ids: above 2^31, as GitHub's are. */
  private static nextRunId = 30_000_000_000;
  private scope: nock.Scope;

  constructor(readonly apiUrl = "https://api.github.com") {
    this.defaults();
    this.scope = nock(apiUrl).persist();
    for (const method of ["get", "post", "patch", "put", "delete"] as const) {
      const fake = this;
      this.scope[method](/.*/).reply(async function (this: { req: { headers: Record<string, string> } }, uri, body) {
        const path = uri.split("?")[0]!;
        const parsed = typeof body === "string" && body ? safeJson(body) : body;
        const call = {
          method: method.toUpperCase(),
          path,
          body: parsed,
          auth: String(this.req.headers.authorization ?? ""),
        };
        fake.calls.push(call);
        for (const r of [...fake.routes].reverse()) {
          if (r.method !== call.method) continue;
          const m = path.match(r.re);
          if (m) return (await r.fn(m, parsed, call)) as [number, nock.Body];
        }
        return [404, { message: `FakeGitHub: no route for ${call.method} ${path}` }];
      });
    }
  }

  /** Add or override a route (later routes win). */
  on(method: string, re: RegExp, fn: Handler): this {
    this.routes.push({ method, re, fn });
    return this;
  }

  id(): number {
    return FakeGitHub.nextId++;
  }

  private defaults() {
    const expires = () => new Date(Date.now() + 3_600_000).toISOString();
    this.on("POST", /^\/app\/installations\/(\d+)\/access_tokens$/, (m, body) => [
      201,
      {
        token: `ghs_installation_${m[1]}_${body?.repositories?.join("_") ?? "all"}`,
        expires_at: expires(),
        permissions: body?.permissions ?? { contents: "write" },
        repository_selection: "selected",
      },
    ]);
    this.on("GET", /^\/app$/, () => [200, { id: 1, slug: "inspect-app", name: "Inspect" }]);
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/installation$/, () => [200, { id: 88 }]);
    this.on("GET", /^\/repos\/[^/]+\/[^/]+\/collaborators\/([^/]+)\/permission$/, (m) => {
      const permission = this.permissions.get(m[1]!) ?? "none";
      return [
        200,
        { permission: permission === "maintain" ? "write" : permission, role_name: permission, user: { login: m[1] } },
      ];
    });
    this.on("POST", /\/reactions$/, () => [201, { id: this.id(), content: "eyes" }]);
    this.on("POST", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/, (_m, body) => [
      201,
      { id: this.id(), body: body.body },
    ]);
    this.on("PATCH", /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/, (m, body) => [
      200,
      { id: Number(m[1]), body: body.body },
    ]);
    this.on("GET", /^\/repos\/acme\/inspect-runner$/, () => [
      200,
      {
        id: RUNNER_REPOSITORY_ID,
        name: "inspect-runner",
        full_name: "acme/inspect-runner",
        default_branch: "main",
        private: true,
      },
    ]);
    this.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/, (m, body) => {
      if (this.dispatchAnswer === "rejects-run-details" && "return_run_details" in (body ?? {})) {
        return [
          422,
          {
            message: 'Invalid request.\n\n"return_run_details" is not a permitted key.',
            documentation_url: "https://docs.github.com/rest",
          },
        ];
      }
      const run: FakeWorkflowRun = {
        id: ++FakeGitHub.nextRunId,
        repo: `${m[1]}/${m[2]}`,
        workflow: decodeURIComponent(m[3]!),
        ref: body?.ref,
        sessionId: body?.inputs?.session_id || body?.inputs?.slot_id,
        createdAt: new Date(),
        actor: "inspect-app[bot]",
      };
      this.workflowRuns.push(run);
      if (this.dispatchAnswer === "no-content" || body?.return_run_details !== true) return [204];
      return [
        200,
        {
          workflow_run_id: run.id,
          run_url: `https://api.github.com/repos/${run.repo}/actions/runs/${run.id}`,
          html_url: `https://github.com/${run.repo}/actions/runs/${run.id}`,
        },
      ];
    });
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)$/, (m) => {
      const run = this.workflowRuns.find((r) => r.id === Number(m[3]) && r.repo === `${m[1]}/${m[2]}`);
      return run ? [200, workflowRunJson(run)] : [404, { message: "Not Found" }];
    });
    this.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/cancel$/, (m) => {
      const run = this.workflowRuns.find((r) => r.id === Number(m[3]) && r.repo === `${m[1]}/${m[2]}`);
      if (!run) return [404, { message: "Not Found" }];
      if (run.status === "cancelled") return [409, { message: "Cannot cancel a workflow run that is completed." }];
      run.status = "cancelled";
      return [202, {}];
    });
    this.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/pulls$/, (m) => {
      const number = this.id();
      return [201, { number, html_url: `https://github.com/${m[1]}/${m[2]}/pull/${number}` }];
    });
    this.on("GET", /^\/repos\/[^/]+\/[^/]+\/pulls$/, () => [200, []]);
    this.on("PATCH", /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/, (m) => [200, { number: Number(m[1]) }]);
    this.on("POST", /^\/repos\/[^/]+\/[^/]+\/check-runs$/, () => [201, { id: this.id() }]);
    this.on("PATCH", /^\/repos\/[^/]+\/[^/]+\/check-runs\/(\d+)$/, (m) => [200, { id: Number(m[1]) }]);
  }

  /** The workflow run the latest dispatch for a session started. */
  runFor(sessionId: string): FakeWorkflowRun | undefined {
    return this.workflowRuns.findLast((r) => r.sessionId === sessionId);
  }

  find(method: string, re: RegExp): Call[] {
    return this.calls.filter((c) => c.method === method && re.test(c.path));
  }

  close(): void {
    this.scope.persist(false);
    nock.cleanAll();
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** A workflow run as `GET /repos/{owner}/{repo}/actions/runs/{id}` shows it: the run-name is `display_title`. */
export function workflowRunJson(run: FakeWorkflowRun, webUrl = "https://github.com") {
  return {
    id: run.id,
    name: "Inspect runner",
    display_title: run.sessionId,
    path: `.github/workflows/${run.workflow}`,
    event: run.event ?? "workflow_dispatch",
    head_branch: run.ref.replace(/^refs\/heads\//, ""),
    status: run.status === "cancelled" ? "completed" : "queued",
    conclusion: run.status === "cancelled" ? "cancelled" : null,
    created_at: run.createdAt.toISOString(),
    actor: { login: run.actor },
    triggering_actor: { login: run.actor },
    html_url: `${webUrl}/${run.repo}/actions/runs/${run.id}`,
  };
}
