/**
 * Slack end to end: the real app (createInspect), Slack's Web API replaced at the HTTP boundary
 * by a local server that records calls (SLACK_API_URL), GitHub faked at HTTP (sign-in and
 * permission checks), and requests signed as Slack signs them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { upsertRepository } from "../db/accounts.js";
import { summaryInput } from "../github/session-summary.js";
import { pullRequestBody } from "../github/summary.js";
import { insertPrompt, listPrompts } from "../db/prompts.js";
import { insertSession } from "../db/sessions.js";
import { slackSignature, startFakeSlack, type FakeSlack } from "../../test/support/fake-slack.js";
import { signIn, startWebStack, type WebStack } from "../../test/support/web-stack.js";

const SIGNING_SECRET = "slack-signing-secret-for-tests";

let stack: WebStack;
let slack: FakeSlack;
let nextEvent = 1;
/** The app's log lines (pino JSON), from info up. */
const logLines: { level: number; msg: string; [k: string]: unknown }[] = [];
const logged = (pattern: RegExp) => logLines.filter((l) => pattern.test(l.msg));

beforeAll(async () => {
  slack = await startFakeSlack();
  stack = await startWebStack(
    { alice: { "acme/secret": { pull: true, push: true } }, bob: {} },
    {
      withRooms: false,
      publicRepos: ["acme/widgets"],
      env: { SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: "xoxb-test", SLACK_API_URL: slack.url },
      log: { level: "info", destination: { write: (line) => void logLines.push(JSON.parse(line)) } },
    },
  );
  const db = stack.inspect.database.db;
  await stack.createSession("pub1", "Fix the login test", "alice", {
    prUrl: "https://github.com/acme/widgets/pull/12",
    prNumber: 12,
  });
  await insertPrompt(db, {
    sessionId: "pub1",
    authorLogin: "alice",
    source: "github_comment",
    text: "fix the flaky login test\nit fails on CI <!channel>",
  });
  const secret = await upsertRepository(db, { owner: "acme", name: "secret", githubId: 43, private: true });
  await insertSession(db, {
    id: "priv1",
    repositoryId: secret.id,
    threadKind: "issue",
    threadNumber: 3,
    title: "Rotate the TOP SECRET keys",
    status: "running",
    baseBranch: "main",
    headBranch: "inspect/priv1",
  });
  await insertPrompt(db, {
    sessionId: "priv1",
    authorLogin: "alice",
    source: "github_comment",
    text: "rotate the TOP SECRET keys",
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await slack?.close();
});

beforeEach(() => {
  slack.calls.length = 0;
});

const sign = (body: string, ts?: number) => slackSignature(SIGNING_SECRET, body, ts);

async function post(payload: unknown, headers?: Record<string, string>) {
  const body = JSON.stringify(payload);
  return fetch(`${stack.url}/api/slack/events`, { method: "POST", body, headers: headers ?? sign(body) });
}

function linkShared(user: string, ...ids: string[]) {
  return {
    type: "event_callback",
    team_id: "T1",
    event_id: `Ev${nextEvent++}`,
    event: {
      type: "link_shared",
      channel: "C1",
      user,
      message_ts: "1700000000.000100",
      unfurl_id: "U-123",
      source: "conversations_history",
      links: ids.map((id) => ({ url: `${stack.url}/sessions/${id}`, domain: "127.0.0.1" })),
    },
  };
}

async function share(user: string, ...ids: string[]) {
  const res = await post(linkShared(user, ...ids));
  expect(res.status).toBe(200);
  await stack.inspect.tasks.drain();
  return slack.calls.filter((c) => c.method === "chat.unfurl");
}

describe("the Slack events route", () => {
  it("answers url_verification with its challenge", async () => {
    const res = await post({ type: "url_verification", token: "x", challenge: "abc123" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: "abc123" });
  });

  it("refuses a bad signature or a stale timestamp and does nothing", async () => {
    const body = JSON.stringify(linkShared("U1", "pub1"));
    const bad = await fetch(`${stack.url}/api/slack/events`, {
      method: "POST",
      body,
      headers: { ...sign(body), "x-slack-signature": "v0=00" },
    });
    expect(bad.status).toBe(401);
    const stale = await fetch(`${stack.url}/api/slack/events`, {
      method: "POST",
      body,
      headers: sign(body, Math.floor(Date.now() / 1000) - 6 * 60),
    });
    expect(stale.status).toBe(401);
    const future = await fetch(`${stack.url}/api/slack/events`, {
      method: "POST",
      body,
      headers: sign(body, Math.floor(Date.now() / 1000) + 6 * 60),
    });
    expect(future.status).toBe(401);
    await stack.inspect.tasks.drain();
    expect(slack.calls).toEqual([]);
  });

  it("processes a replayed event id once", async () => {
    const event = linkShared("U1", "pub1");
    for (let i = 0; i < 3; i++) expect((await post(event)).status).toBe(200);
    await stack.inspect.tasks.drain();
    expect(slack.calls.filter((c) => c.method === "chat.unfurl")).toHaveLength(1);
  });
});

describe("unfurling session links", () => {
  it("unfurls a public repository's session into a card for anyone", async () => {
    const [call] = await share("U-anyone", "pub1");
    expect(call!.args).toMatchObject({ unfurl_id: "U-123", source: "conversations_history" });
    const url = `${stack.url}/sessions/pub1`;
    const blocks = call!.args.unfurls[url].blocks;
    const text = JSON.stringify(blocks);
    expect(text).toContain("fix the flaky login test");
    expect(text).not.toContain("it fails on CI"); // the first line only
    expect(text).toContain("acme/widgets");
    expect(text).toContain("issues/7");
    expect(text).toContain("running");
    expect(text).toContain("alice");
    expect(text).toContain("https://github.com/acme/widgets/pull/12");
    expect(text).toContain("<!date^");
    expect(blocks.at(-1)).toMatchObject({ type: "actions", elements: [{ type: "button", url }] });
  });

  it("targets channel + ts when the event has no unfurl_id", async () => {
    const event = linkShared("U1", "pub1");
    delete (event.event as any).unfurl_id;
    delete (event.event as any).source;
    await post(event);
    await stack.inspect.tasks.drain();
    expect(slack.calls[0]!.args).toMatchObject({ channel: "C1", ts: "1700000000.000100" });
  });

  it("shows nothing of a private session to an unlinked sharer: an invitation to link instead", async () => {
    const calls = await share("U-stranger", "priv1");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args).toMatchObject({ user_auth_required: "true", unfurls: {} });
    expect(calls[0]!.args.user_auth_url).toMatch(new RegExp(`^${stack.url}/slack/link\\?t=`));
    expect(JSON.stringify(calls[0]!.args)).not.toMatch(/secret|TOP|priv1/i);
  });

  it("says nothing about a session that does not exist, or a link elsewhere", async () => {
    expect(await share("U1", "nope404")).toEqual([]);
    const event = linkShared("U1");
    event.event.links = [{ url: "https://example.com/sessions/pub1", domain: "example.com" }];
    await post(event);
    await stack.inspect.tasks.drain();
    expect(slack.calls).toEqual([]);
  });

  it("links a Slack user to GitHub through sign-in; then the private card unfurls for them only while GitHub says they can read", async () => {
    const [invite] = await share("UALICE", "priv1");
    const linkUrl = invite!.args.user_auth_url as string;
    // Not signed in: off to GitHub sign-in, coming back to the same link.
    const anon = await fetch(linkUrl, { redirect: "manual" });
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toMatch(/^\/auth\/login\?returnTo=%2Fslack%2Flink%3Ft%3D/);
    const cookie = await signIn(stack, "alice");
    const confirm = await fetch(linkUrl, { headers: { cookie } });
    expect(await confirm.text()).toContain("UALICE");
    const t = new URL(linkUrl).searchParams.get("t")!;
    const crossSite = await fetch(`${stack.url}/slack/link`, {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ t }),
    });
    expect(crossSite.status).toBe(403);
    const linked = await fetch(`${stack.url}/slack/link`, {
      method: "POST",
      headers: { cookie, origin: stack.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ t }),
    });
    expect(linked.status).toBe(200);

    slack.calls.length = 0;
    const [card] = await share("UALICE", "priv1");
    expect(JSON.stringify(card!.args.unfurls)).toContain("rotate the TOP SECRET keys");
    expect(card!.args.user_auth_required).toBeUndefined();

    // bob links too, but GitHub says he cannot read acme/secret.
    slack.calls.length = 0;
    const [bobInvite] = await share("UBOB", "priv1");
    const bobCookie = await signIn(stack, "bob");
    const bt = new URL(bobInvite!.args.user_auth_url).searchParams.get("t")!;
    await fetch(`${stack.url}/slack/link`, {
      method: "POST",
      headers: { cookie: bobCookie, origin: stack.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ t: bt }),
    });
    slack.calls.length = 0;
    const bobCalls = await share("UBOB", "priv1");
    expect(bobCalls).toHaveLength(1);
    expect(bobCalls[0]!.args).toMatchObject({ user_auth_required: "true", unfurls: {} });
    expect(JSON.stringify(bobCalls[0]!.args)).not.toMatch(/TOP SECRET/);
  });

  it("rejects a forged or tampered link token", async () => {
    const res = await fetch(`${stack.url}/slack/link?t=eyJhbGciOiJIUzI1NiJ9.eyJ0ZWFtIjoiVDEiLCJ1c2VyIjoiVTEifQ.AAAA`);
    expect(res.status).toBe(400);
  });
});

describe("Slack API errors", () => {
  it("waits out a 429 with Retry-After, then unfurls", async () => {
    slack.answer("chat.unfurl", {
      status: 429,
      body: { ok: false, error: "ratelimited" },
      headers: { "retry-after": "1" },
    });
    logLines.length = 0;
    const calls = await share("U1", "pub1");
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args.unfurls).toBeDefined();
    expect(stack.inspect.tasks.failures).toBe(0);
    const [line] = logged(/^Slack rate-limited/);
    expect(line).toMatchObject({ level: 40, retryAfter: 1, msg: expect.stringContaining("retrying after 1s") });
    expect(line!.url).toMatch(/chat\.unfurl$/);
  }, 15_000);

  it("logs channel_not_found and carries on", async () => {
    slack.answer("chat.unfurl", { status: 200, body: { ok: false, error: "channel_not_found" } });
    logLines.length = 0;
    const calls = await share("U1", "pub1");
    expect(calls).toHaveLength(1);
    expect(stack.inspect.tasks.failures).toBe(0);
    expect(logged(/^Slack chat\.unfurl failed/)).toEqual([
      expect.objectContaining({
        level: 40,
        slackError: "channel_not_found",
        msg: expect.stringContaining("channel_not_found"),
      }),
    ]);
    slack.calls.length = 0;
    expect(await share("U1", "pub1")).toHaveLength(1); // and the next one goes through
  });
});

describe("sessions from Slack (@inspect owner/repo <task>)", () => {
  let app: WebStack;
  let api: FakeSlack;
  const mentionLog: { level: number; msg: string }[] = [];
  const mention = (user: string, text: string, extra: Record<string, string> = {}) => ({
    type: "event_callback",
    team_id: "T1",
    event_id: `Ev${nextEvent++}`,
    event: { type: "app_mention", user, text, ts: "1700000001.000200", channel: "C9", ...extra },
  });
  const send = async (payload: unknown) => {
    const body = JSON.stringify(payload);
    const res = await fetch(`${app.url}/api/slack/events`, { method: "POST", body, headers: sign(body) });
    expect(res.status).toBe(200);
    await app.inspect.tasks.drain();
  };
  const linkAs = async (slackUser: string, login: string) => {
    await send(mention(slackUser, "<@UBOT> acme/widgets hello"));
    const invite = api.calls.find((c) => c.method === "chat.postEphemeral" && c.args.user === slackUser)!;
    const t = new URL(invite.args.text.match(/https?:\/\/\S+/)[0]).searchParams.get("t")!;
    const cookie = await signIn(app, login);
    const res = await fetch(`${app.url}/slack/link`, {
      method: "POST",
      headers: { cookie, origin: app.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ t }),
    });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    api = await startFakeSlack();
    const writer = { "acme/widgets": { pull: true, push: true } };
    app = await startWebStack(
      { alice: writer, rita: { "acme/widgets": { pull: true, push: false } } },
      {
        withRooms: false,
        githubApp: true,
        env: { SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: "xoxb-test", SLACK_API_URL: api.url },
        log: { level: "warn", destination: { write: (line) => void mentionLog.push(JSON.parse(line)) } },
      },
    );
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await api?.close();
  });
  beforeEach(() => {
    api.calls.length = 0;
  });

  it("asks an unlinked user, and only them, to link their GitHub account; starts nothing", async () => {
    await send(mention("UNEW", "<@UBOT> acme/widgets fix the build"));
    expect(api.calls.map((c) => c.method)).toEqual(["chat.postEphemeral"]);
    expect(api.calls[0]!.args).toMatchObject({ channel: "C9", user: "UNEW" });
    expect(app.github.dispatches).toHaveLength(0);
  });

  it("refuses someone whose GitHub account cannot write to the repository", async () => {
    await linkAs("URITA", "rita");
    api.calls.length = 0;
    await send(mention("URITA", "<@UBOT> acme/widgets delete everything"));
    const [reply] = api.calls.filter((c) => c.method === "chat.postMessage");
    expect(reply!.args.text).toMatch(/write access/);
    expect(app.github.dispatches).toHaveLength(0);
  });

  it("starts a session, replies in the thread with its link at once, and keeps that reply current", async () => {
    await linkAs("UALICE", "alice");
    api.calls.length = 0;
    await send(
      mention("UALICE", "<@UBOT> acme/widgets add a --verbose flag &amp; document it", {
        thread_ts: "1700000000.000001",
      }),
    );
    const [reply] = api.calls.filter((c) => c.method === "chat.postMessage");
    expect(reply!.args).toMatchObject({ channel: "C9", thread_ts: "1700000000.000001" });
    expect(reply!.args.text).toMatch(/^Starting a session on acme\/widgets — named in the request: http/);
    const id = /\/sessions\/([\w-]+)/.exec(reply!.args.text)![1]!;
    const session = await app.inspect.sessions.get(id);
    expect(session).toMatchObject({ status: "queued" });
    const prompts = await listPrompts(app.inspect.database.db, id);
    expect(prompts[0]).toMatchObject({
      authorLogin: "alice",
      source: "slack",
      text: "add a --verbose flag & document it",
    });
    expect(app.github.dispatches).toHaveLength(1);
    // The PR body says where the request came from, with the message's permalink.
    const permalink = api.calls.find((c) => c.method === "chat.getPermalink")!;
    expect(permalink.args).toMatchObject({ channel: "C9", message_ts: "1700000001.000200" });
    const body = pullRequestBody(await summaryInput(app.inspect.database.db, app.inspect.config, session!));
    expect(body).toContain("Started from Slack: [the request](https://acme.slack.com/archives/C9/p1700000001000200).");

    expect(await app.inspect.sessions.stop(id, "alice")).toBe(true);
    await waitFor(() =>
      api.calls.some((c) => c.method === "chat.update" && JSON.stringify(c.args.blocks).includes("stopped")),
    );
    const update = api.calls.findLast((c) => c.method === "chat.update")!;
    expect(update.args).toMatchObject({ channel: "C9", ts: "1700000000.000100" });
    expect(JSON.stringify(update.args.blocks)).toContain("add a --verbose flag");
  }, 20_000);

  it("explains the syntax when the task is missing", async () => {
    await send(mention("UALICE", "<@UBOT>"));
    expect(api.calls.find((c) => c.method === "chat.postMessage")!.args.text).toMatch(/owner\/repo <task>/);
    api.calls.length = 0;
    await send(mention("UALICE", "<@UBOT> acme/widgets"));
    expect(api.calls.find((c) => c.method === "chat.postMessage")!.args.text).toMatch(
      /What should I do on acme\/widgets/,
    );
  });

  it("with no repository named, starts on the only repository Inspect is installed on (never the runner repository)", async () => {
    await send(mention("UALICE", "<@UBOT> please fix the README typo", { thread_ts: "1700000000.000777" }));
    const reply = api.calls.find((c) => c.method === "chat.postMessage")!;
    expect(reply.args.text).toMatch(
      /^Starting a session on acme\/widgets — the only repository Inspect is installed on: /,
    );
    const id = /\/sessions\/([\w-]+)/.exec(reply.args.text)![1]!;
    expect((await listPrompts(app.inspect.database.db, id))[0]).toMatchObject({ text: "please fix the README typo" });
    await waitFor(() =>
      api.calls.some(
        (c) => c.method === "chat.update" && JSON.stringify(c.args.blocks).includes("Repository: the only repository"),
      ),
    );
  }, 20_000);

  it("logs a reply Slack refuses (channel_not_found) and carries on", async () => {
    api.answer("chat.postMessage", { status: 200, body: { ok: false, error: "channel_not_found" } });
    mentionLog.length = 0;
    await send(mention("UALICE", "<@UBOT> acme/widgets tidy up", { thread_ts: "1700000000.000888" }));
    expect(app.inspect.tasks.failures).toBe(0);
    expect(mentionLog.filter((l) => /^Slack chat\.postMessage failed: channel_not_found/.test(l.msg))).toHaveLength(1);
  }, 20_000);

  const message = (user: string | undefined, text: string, thread_ts: string, extra: Record<string, unknown> = {}) => ({
    type: "event_callback",
    team_id: "T1",
    event_id: `Ev${nextEvent++}`,
    event: { type: "message", user, text, ts: `1700000500.${nextEvent}`, channel: "C9", thread_ts, ...extra },
  });
  const signedPost = (payload: unknown) => {
    const body = JSON.stringify(payload);
    return fetch(`${app.url}/api/slack/events`, { method: "POST", body, headers: sign(body) });
  };
  /** alice (linked above) starts a session in a thread; its id. */
  const startIn = async (threadTs: string, task: string) => {
    api.calls.length = 0;
    await send(mention("UALICE", `<@UBOT> acme/widgets ${task}`, { thread_ts: threadTs }));
    const reply = api.calls.find((c) => c.method === "chat.postMessage")!;
    return /\/sessions\/([\w-]+)/.exec(reply.args.text)![1]!;
  };

  it("queues a linked writer's thread replies as follow-ups, in order; ignores everyone and everything else", async () => {
    const thread = "1700000400.000001";
    const id = await startIn(thread, "rename the config file");
    api.calls.length = 0;
    // Two replies sent back to back: queued in the order Slack sent them.
    const [a, b] = await Promise.all([
      signedPost(message("UALICE", "also update the docs &amp; changelog", thread)),
      signedPost(message("UALICE", "<@UBOT> and bump the version", thread)),
    ]);
    expect([a!.status, b!.status]).toEqual([200, 200]);
    await app.inspect.tasks.drain();
    // A mention in the thread is a follow-up (its message event), not a new session.
    await send(mention("UALICE", "<@UBOT> and bump the version", { thread_ts: thread }));
    await send(message(undefined, "bot chatter", thread, { bot_id: "B1", subtype: "bot_message" }));
    await send(message("UALICE", "edited", thread, { subtype: "message_changed" }));
    await send(message("URITA", "rita cannot write", thread));
    await send(message("UALICE", "a thread Inspect did not start", "1700000400.999999"));
    await send(message("UNOBODY", "who are you", thread));
    await send(message("UNOBODY", "hello?", thread));
    const prompts = await listPrompts(app.inspect.database.db, id);
    expect(prompts.map((p) => [p.authorLogin, p.source, p.text])).toEqual([
      ["alice", "slack", "rename the config file"],
      ["alice", "slack", "also update the docs & changelog"],
      ["alice", "slack", "and bump the version"],
    ]);
    expect(api.calls.filter((c) => c.method === "chat.postMessage")).toEqual([]);
    const invites = api.calls.filter((c) => c.method === "chat.postEphemeral");
    expect(invites).toHaveLength(1);
    expect(invites[0]!.args).toMatchObject({ channel: "C9", user: "UNOBODY", thread_ts: thread });
    expect(invites[0]!.args.text).toMatch(/\/slack\/link\?t=/);
  }, 20_000);

  it("puts a Stop button on the reply: a linked writer's press stops the session, anyone else is told no", async () => {
    const thread = "1700000600.000001";
    const id = await startIn(thread, "refactor the parser");
    await waitFor(() =>
      api.calls.some((c) => c.method === "chat.update" && JSON.stringify(c.args.blocks).includes("stop_session")),
    );
    const press = async (user: string) => {
      const payload = {
        type: "block_actions",
        user: { id: user, team_id: "T1" },
        team: { id: "T1" },
        channel: { id: "C9" },
        container: { type: "message", message_ts: "1700000000.000100", channel_id: "C9" },
        actions: [{ action_id: "stop_session", value: id, type: "button" }],
      };
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const res = await fetch(`${app.url}/api/slack/events`, {
        method: "POST",
        body,
        headers: { ...sign(body), "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(200);
      await app.inspect.tasks.drain();
    };
    api.calls.length = 0;
    await press("URITA");
    await press("USTRANGER");
    const denied = api.calls.filter((c) => c.method === "chat.postEphemeral");
    expect(denied.map((c) => c.args.user)).toEqual(["URITA", "USTRANGER"]);
    for (const d of denied) expect(d.args.text).toMatch(/not allowed/);
    expect(await app.inspect.sessions.get(id)).toMatchObject({ status: "queued" });

    await press("UALICE");
    expect(await app.inspect.sessions.get(id)).toMatchObject({ status: "stopped" });
    await waitFor(() =>
      api.calls.some((c) => c.method === "chat.update" && JSON.stringify(c.args.blocks).includes("stopped")),
    );
    const update = api.calls.findLast((c) => c.method === "chat.update")!;
    expect(JSON.stringify(update.args.blocks)).not.toContain("stop_session");
  }, 20_000);
});

async function waitFor(check: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("no repository to choose from", () => {
  it("asks a linked user to name the repository when no rule finds one (no GitHub App: nothing installed)", async () => {
    // UALICE was linked above, in the first stack.
    const event = {
      type: "event_callback",
      team_id: "T1",
      event_id: `Ev${nextEvent++}`,
      event: { type: "app_mention", user: "UALICE", text: "<@UBOT> tidy up", ts: "1700000009.000001", channel: "C1" },
    };
    expect((await post(event)).status).toBe(200);
    await stack.inspect.tasks.drain();
    const [reply] = slack.calls.filter((c) => c.method === "chat.postMessage");
    expect(reply!.args.text).toBe("I cannot tell which repository to work on. Name it: `@inspect owner/repo <task>`.");
  });
});

// Last: the server answers 413 before the body is read and drops that connection.
describe("request size", () => {
  it("limits the body size", async () => {
    const body = JSON.stringify({ type: "event_callback", pad: "x".repeat(600 * 1024) });
    const res = await fetch(`${stack.url}/api/slack/events`, { method: "POST", body, headers: sign(body) });
    expect(res.status).toBe(413);
  });
});
