/**
 * The server-rendered pages over real HTTP: the session list (only readable
 * repositories, newest first, with status/repo/thread/author/PR), the stats page
 * (figures computed from the database, scoped to readable repositories), the new
 * session form and its warm-up endpoint, and sign-out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertRepository, upsertUser } from "../../app/db/accounts.js";
import { insertPrompt } from "../../app/db/prompts.js";
import { signIn, startWebStack, type WebStack } from "../../test/support/web-stack.js";

let stack: WebStack;
let alice: string;
const HOUR = 3_600_000;
const now = Date.now();
const at = (msAgo: number) => new Date(now - msAgo);

beforeAll(async () => {
  stack = await startWebStack({ alice: { "acme/widgets": { pull: true, push: false } } }, { withRooms: false });
  const db = stack.inspect.database.db;
  const secret = await upsertRepository(db, { owner: "acme", name: "secret", githubId: 43 });
  const user = await upsertUser(db, { login: "alice" });

  // Two readable sessions with PRs (one merged), one readable without, one unreadable with a PR.
  await stack.createSession("sessOlder1", "Older session", "alice", {
    createdAt: at(5 * HOUR),
    prNumber: 3,
    prUrl: "https://gh.example/acme/widgets/pull/3",
  });
  await stack.createSession("sessNewer1", "Newer session", "bob", {
    createdAt: at(2 * HOUR),
    prNumber: 4,
    prUrl: "https://gh.example/acme/widgets/pull/4",
    status: "archived",
    statusReason: "pull request merged",
  });
  await stack.createSession("sessNoPr01", "No PR yet", "alice", { createdAt: at(1 * HOUR), status: "idle" });
  await stack.createSession("sessHidden", "Hidden session", "alice", {
    createdAt: at(HOUR / 2),
    repositoryId: secret.id,
    prNumber: 9,
    prUrl: "https://gh.example/acme/secret/pull/9",
  });

  // Prompt → PR: 10 min for the older session, 30 min for the newer one → median 20 min.
  const prompt = (sessionId: string, createdAt: Date, author = "alice") =>
    insertPrompt(db, { sessionId, authorUserId: user.id, authorLogin: author, source: "web", text: "go", createdAt });
  await prompt("sessOlder1", at(5 * HOUR));
  await prompt("sessNewer1", at(2 * HOUR));
  await prompt("sessNoPr01", at(HOUR / 4)); // within the last hour: alice is active now
  await prompt("sessHidden", at(HOUR / 2));
  // Active now, each by one rule only: bob wrote within the hour (on an idle session); carol wrote
  // long ago on a session that is running; dave wrote 90 minutes ago on an archived one (neither).
  await prompt("sessNoPr01", at(HOUR / 6), "bob");
  await prompt("sessOlder1", at(3 * HOUR), "carol");
  await prompt("sessNewer1", at(1.5 * HOUR), "dave");
  await prompt("sessHidden", at(HOUR / 3), "erin"); // active, but only on a repository alice cannot read
  const pr = (sessionId: string, number: number, ts: Date) =>
    stack.append(sessionId, [
      {
        type: "pr.opened",
        data: { number, url: `https://gh.example/pull/${number}`, draft: false },
        ts: ts.toISOString(),
      } as never,
    ]);
  await pr("sessOlder1", 3, new Date(at(5 * HOUR).getTime() + 10 * 60_000));
  await pr("sessNewer1", 4, new Date(at(2 * HOUR).getTime() + 30 * 60_000));
  await pr("sessHidden", 9, new Date(at(HOUR / 2).getTime() + 1 * 60_000));

  alice = await signIn(stack, "alice");
});
afterAll(async () => {
  await stack?.close();
});

const page = async (path: string) => {
  const res = await fetch(`${stack.url}${path}`, { headers: { cookie: alice, accept: "text/html" } });
  expect(res.status).toBe(200);
  return res.text();
};
const text = (html: string, id: string) => new RegExp(`id="${id}"><b[^>]*>([^<]*)</b>`).exec(html)?.[1];

describe("pages", () => {
  it("lists readable sessions newest first with status, repository, thread, author and PR", async () => {
    const html = await page("/");
    const order = [...html.matchAll(/data-session="(\w+)"/g)].map((m) => m[1]);
    expect(order).toEqual(["sessNoPr01", "sessNewer1", "sessOlder1"]);
    expect(html).not.toContain("Hidden session");
    expect(html).toContain(`href="${stack.github.url}/acme/widgets/issues/7"`);
    expect(html).toContain('href="https://gh.example/acme/widgets/pull/4">PR #4</a>');
    expect(html).toMatch(/class="badge s-archived">archived</);
    expect(html).toMatch(/<img class="avatar" src="[^"]*\/avatars\/bob.svg"[^>]*>bob/); // the creator, with an avatar
  });

  it("computes stats from the database, only over readable repositories, with a chart", async () => {
    const html = await page("/stats");
    expect(text(html, "stat-sessions")).toBe("3");
    expect(text(html, "stat-prompts")).toBe("6");
    expect(text(html, "stat-prs-opened")).toBe("2");
    expect(text(html, "stat-prs-merged")).toBe("1");
    expect(text(html, "stat-merge-rate")).toBe("50%");
    expect(text(html, "stat-median-pr")).toBe("20 min");
    expect(text(html, "stat-prompting-now")).toBe("3"); // alice, bob, carol — not dave, not erin
    expect(html).toContain("<svg");
    const today = new Date().toISOString().slice(0, 10);
    const sessionsToday = ["sessOlder1", "sessNewer1", "sessNoPr01"].length; // unless the test runs just after midnight UTC
    if (
      at(5 * HOUR)
        .toISOString()
        .slice(0, 10) === today
    )
      expect(html).toContain(`<title>${today}: ${sessionsToday} sessions</title>`);
  });

  it("offers only readable repositories on the new session form", async () => {
    const html = await page("/sessions/new");
    expect(html).toContain('<option value="acme/widgets">');
    expect(html).not.toContain("acme/secret");
  });

  it("validates warm-up requests and checks access before warming", async () => {
    const post = (body: string) =>
      fetch(`${stack.url}/api/warmup`, {
        method: "POST",
        headers: { cookie: alice, "content-type": "application/json" },
        body,
      });
    expect((await post("{not json")).status).toBe(400);
    expect((await post(JSON.stringify({ repo: "" }))).status).toBe(400);
    expect((await post(JSON.stringify({ repo: "acme/secret" }))).status).toBe(404);
    const ok = await post(JSON.stringify({ repo: "acme/widgets" }));
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ warming: false });
  });

  it("hides the prompt box from a reader without write access", async () => {
    const html = await page("/sessions/sessOlder1");
    expect(html).not.toContain('id="prompt-form"');
    expect(html).toContain("need write access");
  });

  it("serves the page scripts bundled from TypeScript, compressed", async () => {
    const res = await fetch(`${stack.url}/assets/session.js`, { headers: { "accept-encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const js = await res.text();
    expect(js).toContain("room-token"); // the live page's own code, not a stub
    expect(js.length).toBeLessThan(300_000);
    expect((await fetch(`${stack.url}/assets/nope.js`)).status).toBe(404);
  });

  it("signs out by clearing the session cookie", async () => {
    const res = await fetch(`${stack.url}/auth/logout`, {
      method: "POST",
      headers: { cookie: alice },
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie().some((c) => /^inspect_session=;/.test(c) && /Max-Age=0/i.test(c))).toBe(true);
  });
});
