/**
 * GitHub's REST API replaced at the HTTP boundary (nock): a small routing
 * table answering what Inspect calls, recording every request for assertions.
 */
import nock from "nock";

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
  private readonly routes: { method: string; re: RegExp; fn: Handler }[] = [];
  /** Ids are unique across instances, as GitHub's are (tests share one database). */
  private static nextId = 9000;
  private scope: nock.Scope;

  constructor(readonly apiUrl = "https://api.github.com") {
    this.defaults();
    this.scope = nock(apiUrl).persist();
    for (const method of ["get", "post", "patch", "put", "delete"] as const) {
      const fake = this;
      this.scope[method](/.*/).reply(async function (this: { req: { headers: Record<string, string> } }, uri, body) {
        const path = uri.split("?")[0]!;
        const parsed = typeof body === "string" && body ? safeJson(body) : body;
        const call = { method: method.toUpperCase(), path, body: parsed, auth: String(this.req.headers.authorization ?? "") };
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
      { token: `ghs_installation_${m[1]}_${body?.repositories?.join("_") ?? "all"}`, expires_at: expires(), permissions: body?.permissions ?? { contents: "write" }, repository_selection: "selected" },
    ]);
    this.on("GET", /^\/app$/, () => [200, { id: 1, slug: "inspect-app", name: "Inspect" }]);
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/installation$/, () => [200, { id: 88 }]);
    this.on("GET", /^\/repos\/[^/]+\/[^/]+\/collaborators\/([^/]+)\/permission$/, (m) => {
      const permission = this.permissions.get(m[1]!) ?? "none";
      return [200, { permission: permission === "maintain" ? "write" : permission, role_name: permission, user: { login: m[1] } }];
    });
    this.on("POST", /\/reactions$/, () => [201, { id: this.id(), content: "eyes" }]);
    this.on("POST", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/, (_m, body) => [201, { id: this.id(), body: body.body }]);
    this.on("PATCH", /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/, (m, body) => [200, { id: Number(m[1]), body: body.body }]);
    this.on("POST", /^\/repos\/[^/]+\/[^/]+\/actions\/workflows\/[^/]+\/dispatches$/, () => [204]);
    this.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/pulls$/, (m) => {
      const number = this.id();
      return [201, { number, html_url: `https://github.com/${m[1]}/${m[2]}/pull/${number}` }];
    });
    this.on("GET", /^\/repos\/[^/]+\/[^/]+\/pulls$/, () => [200, []]);
    this.on("PATCH", /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/, (m) => [200, { number: Number(m[1]) }]);
    this.on("POST", /^\/repos\/[^/]+\/[^/]+\/check-runs$/, () => [201, { id: this.id() }]);
    this.on("PATCH", /^\/repos\/[^/]+\/[^/]+\/check-runs\/(\d+)$/, (m) => [200, { id: Number(m[1]) }]);
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
