/**
 * Starting sessions from the web on GitHub repositories, and warm sandboxes:
 * a runner dispatched while the person is still typing, adopted by their prompt.
 */
import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { Viewer } from "../api/access.js";
import type { Database } from "../db/client.js";
import { listPrompts } from "../db/prompts.js";
import { getSession, listSessions } from "../db/sessions.js";
import { PermissionCache } from "../github/permissions.js";
import type { Inspect } from "../server.js";
import { SessionStarter, StartError } from "./starter.js";
import type { FakeGitHub } from "../../test/support/fake-github.js";
import { useGitHubStack } from "../../test/support/github-stack.js";

const stack = useGitHubStack({
  permissions: { alice: "write", reader: "read" },
  routes: (gh) => {
    gh.on("GET", /^\/repos\/acme\/(widgets|gadgets)$/, (m) => [
      200,
      { id: m[1] === "widgets" ? 4242 : 4343, default_branch: "trunk", private: true },
    ]);
    gh.on("GET", /^\/repos\/acme\/nowhere\/installation$/, () => [404, { message: "Not Found" }]);
  },
});
const runner = stack.runner;
let database: Database;
let inspect: Inspect;
let gh: FakeGitHub;
let starter: SessionStarter;
const viewer = (login: string): Viewer => ({ login, id: 4000, avatarUrl: null, token: "gho_x", local: false });

beforeEach(() => {
  ({ database, inspect, gh } = stack);
  starter = new SessionStarter({
    db: database.db,
    config: inspect.config,
    sessions: inspect.sessions,
    github: inspect.github,
    permissions: new PermissionCache(inspect.github!),
  });
});

describe("starting from the web on GitHub", () => {
  it("creates a session on the repository's default branch and dispatches a runner", async () => {
    const session = await starter.start(viewer("alice"), "acme/widgets", "Add a dark mode toggle", "openai/gpt-x");
    expect(session).toMatchObject({
      threadKind: "web",
      threadNumber: null,
      baseBranch: "trunk",
      headBranch: `inspect/${session.id}-add-a-dark-mode-toggle`,
      model: "openai/gpt-x",
    });
    expect((await listPrompts(database.db, session.id)).map((p) => [p.authorLogin, p.source, p.text])).toEqual([
      ["alice", "web", "Add a dark mode toggle"],
    ]);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
  });

  it("refuses people without write access, repositories without the app, and bad names", async () => {
    await expect(starter.start(viewer("reader"), "acme/widgets", "x", null)).rejects.toMatchObject({ status: 403 });
    await expect(starter.start(viewer("alice"), "acme/nowhere", "x", null)).rejects.toMatchObject({
      status: 404,
      message: "Inspect is not installed on acme/nowhere",
    });
    await expect(starter.start(viewer("alice"), "not a repo", "x", null)).rejects.toBeInstanceOf(StartError);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(0);
  });
});

describe("warm sandboxes", () => {
  it("dispatches a runner while typing; the prompt is adopted by that ready session", async () => {
    expect(await starter.warm(viewer("alice"), "acme/gadgets")).toBe(true);
    // Typing more does not start a second sandbox.
    expect(await starter.warm(viewer("alice"), "acme/gadgets")).toBe(true);
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
    const warmId = gh.find("POST", /dispatches$/)[0]!.body.inputs.session_id as string;
    expect((await listSessions(database.db)).map((s) => s.id)).not.toContain(warmId);

    // The runner prepares the sandbox and waits, with nothing to do yet.
    const { sessionToken, session: spec } = await runner.claim(warmId);
    expect(spec.headBranch).toBe(`inspect/${warmId}`);
    expect(await runner.next(warmId, sessionToken)).toEqual({ kind: "none" });
    expect((await getSession(database.db, warmId))?.status).toBe("idle");

    // The prompt goes to the warm session: no new dispatch, the waiting runner gets it.
    const waiting = runner.next(warmId, sessionToken, 5);
    const started = await starter.start(viewer("alice"), "acme/gadgets", "Fix the gadget", null);
    expect(started.id).toBe(warmId);
    expect(started).toMatchObject({ threadKind: "web", title: "Fix the gadget" });
    const next = await waiting;
    expect(next).toMatchObject({ kind: "prompt", prompt: { title: "Fix the gadget", author: { login: "alice" } } });
    expect(gh.find("POST", /dispatches$/)).toHaveLength(1);
    expect((await listSessions(database.db)).map((s) => s.id)).toContain(warmId);
  });

  it("archives a warm sandbox nobody used when its runner goes idle", async () => {
    await starter.warm(viewer("alice"), "acme/widgets");
    const warmId = gh.find("POST", /dispatches$/).at(-1)!.body.inputs.session_id as string;
    const { sessionToken } = await runner.claim(warmId);
    await runner.next(warmId, sessionToken);
    await runner.exit(warmId, sessionToken, "idle");
    expect(await getSession(database.db, warmId)).toMatchObject({
      status: "archived",
      statusReason: "warm sandbox not used",
    });
    // The next prompt gets a fresh session.
    const fresh = await starter.start(viewer("alice"), "acme/widgets", "Another thing", null);
    expect(fresh.id).not.toBe(warmId);
  });
});

describe("creating a session", () => {
  it("writes the session, its first prompt and its run in one transaction: a failure leaves none of them", async () => {
    const db = database.db;
    // A real fault in the database: the run's insert fails, after the session and prompt were written.
    await db.execute(sql`CREATE OR REPLACE FUNCTION refuse_run() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql`);
    await db.execute(sql`CREATE TRIGGER refuse_run BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION refuse_run()`);
    const before = (await listSessions(db)).length;
    try {
      // drizzle wraps the database's error ("Failed query: insert into runs …"), the fault its cause.
      await expect(starter.start(viewer("alice"), "acme/widgets", "Half a session", null)).rejects.toThrow(
        /insert into "runs"/,
      );
    } finally {
      await db.execute(sql`DROP TRIGGER refuse_run ON runs`);
    }
    const after = await listSessions(db);
    expect(after).toHaveLength(before);
    const orphans = await db.execute(
      sql`SELECT count(*)::int AS n FROM prompts WHERE session_id NOT IN (SELECT id FROM sessions)`,
    );
    expect((orphans as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
    expect(gh.find("POST", /dispatches$/).some((c) => JSON.stringify(c.body).includes("Half a session"))).toBe(false);
  });
});
