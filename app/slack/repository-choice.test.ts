/**
 * Choosing the repository of a Slack request without a classifier: the channel's default (set
 * only by a linked writer), the picker when no rule answers (five buttons at most, the click
 * starts the session and replaces the picker), and direct messages as requests. The real app,
 * Slack's Web API as a local server (SLACK_API_URL), GitHub faked at HTTP with the App
 * installed on six repositories besides the runner's.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listPrompts } from "../db/prompts.js";
import { linkSlackUser, postToSlackRoute, startFakeSlack, type FakeSlack } from "../../test/support/fake-slack.js";
import { startWebStack, type WebStack } from "../../test/support/web-stack.js";

const SECRET = "slack-signing-secret-for-choice-tests";
const write = { pull: true, push: true };

let app: WebStack;
let api: FakeSlack;
let n = 0;

beforeAll(async () => {
  api = await startFakeSlack();
  app = await startWebStack(
    {
      alice: { "acme/widgets": write, "acme/gadgets": write },
      rita: { "acme/widgets": { pull: true, push: false } },
    },
    {
      withRooms: false,
      githubApp: true,
      installedRepos: { "acme/gadgets": 43, "acme/x-one": 51, "acme/x-two": 52, "acme/x-three": 53, "acme/x-four": 54 },
      env: { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: "xoxb-test", SLACK_API_URL: api.url },
    },
  );
  await linkSlackUser(app, api, SECRET, "UALICE", "alice");
  await linkSlackUser(app, api, SECRET, "URITA", "rita");
}, 60_000);

afterAll(async () => {
  await app?.close();
  await api?.close();
});

beforeEach(() => {
  api.calls.length = 0;
});

const send = async (event: Record<string, unknown>) => {
  const res = await postToSlackRoute(app.url, SECRET, {
    type: "event_callback",
    team_id: "T1",
    event_id: `EvChoice${++n}`,
    event,
  });
  expect(res.status).toBe(200);
  await app.inspect.tasks.drain();
};
const mention = (user: string, text: string, channel: string, ts = `1700001000.${String(++n).padStart(6, "0")}`) =>
  send({ type: "app_mention", user, text: `<@UBOT> ${text}`, ts, channel });
const posted = () => api.calls.filter((c) => c.method === "chat.postMessage").map((c) => c.args);
const sessionIdIn = (text: string) => /\/sessions\/([\w-]+)/.exec(text)![1]!;

describe("a channel's default repository", () => {
  it("is set only by a linked writer (use owner/repo here), and then requests in that channel use it", async () => {
    await mention("UNEW", "use acme/widgets here", "CDEF");
    expect(api.calls.map((c) => [c.method, c.args.user])).toEqual([["chat.postEphemeral", "UNEW"]]);

    api.calls.length = 0;
    await mention("URITA", "use acme/widgets here", "CDEF");
    expect(posted()[0]!.text).toMatch(/^Cannot make acme\/widgets this channel's default: you need write access/);

    api.calls.length = 0;
    await mention("UALICE", "use acme/widgets here", "CDEF");
    expect(posted()[0]!.text).toMatch(/^acme\/widgets is now this channel's default repository \(set by @alice\)/);

    api.calls.length = 0;
    await mention("UALICE", "add a changelog entry", "CDEF");
    const [reply] = posted();
    expect(reply!.text).toMatch(/^Starting a session on acme\/widgets — this channel's default: /);
    const prompts = await listPrompts(app.inspect.database.db, sessionIdIn(reply!.text));
    expect(prompts.map((p) => [p.authorLogin, p.source, p.text])).toEqual([
      ["alice", "slack", "add a changelog entry"],
    ]);

    // Another channel has no default; a named repository still wins over the default.
    api.calls.length = 0;
    await mention("UALICE", "add a changelog entry", "COTHER");
    expect(posted()).toEqual([]);
    expect(api.calls.filter((c) => c.method === "chat.postEphemeral")).toHaveLength(1);
    api.calls.length = 0;
    await mention("UALICE", "acme/gadgets add a changelog entry", "CDEF");
    expect(posted()[0]!.text).toMatch(/^Starting a session on acme\/gadgets — named in the request: /);

    // Set again: replaced.
    api.calls.length = 0;
    await mention("UALICE", "use acme/gadgets here", "CDEF");
    await mention("UALICE", "fix the flaky test", "CDEF");
    expect(posted()[1]!.text).toMatch(/^Starting a session on acme\/gadgets — this channel's default: /);
  }, 30_000);
});

describe("the repository picker (no rule chose, no classifier)", () => {
  const press = async (user: string, value: string) => {
    const res = await postToSlackRoute(
      app.url,
      SECRET,
      {
        type: "block_actions",
        user: { id: user, team_id: "T1" },
        team: { id: "T1" },
        channel: { id: "CPICK" },
        container: { type: "message", message_ts: "1700000000.000999", channel_id: "CPICK", is_ephemeral: true },
        response_url: api.hooksUrl(),
        actions: [{ action_id: "pick_repository_0", value, type: "button" }],
      },
      true,
    );
    expect(res.status).toBe(200);
    await app.inspect.tasks.drain();
  };

  it("shows the asker alone five buttons and says there are more; the asker's click starts the session there and replaces the picker", async () => {
    await mention("UALICE", "make the build faster", "CPICK", "1700002000.000001");
    expect(posted()).toEqual([]); // nothing in the open: the names are for the asker's eyes
    const [picker] = api.calls.filter((c) => c.method === "chat.postEphemeral");
    expect(picker!.args).toMatchObject({ channel: "CPICK", user: "UALICE", thread_ts: "1700002000.000001" });
    expect(picker!.args.text).toMatch(/Which repository should I work on\?.*Showing 5 of 6/);
    const buttons = picker!.args.blocks[1].elements as { text: { text: string }; value: string; action_id: string }[];
    expect(buttons.map((b) => b.text.text)).toEqual([
      "acme/gadgets",
      "acme/widgets",
      "acme/x-four",
      "acme/x-one",
      "acme/x-three",
    ]);
    expect(new Set(buttons.map((b) => b.action_id)).size).toBe(5);
    const gadgets = buttons[0]!.value;
    const pickId = gadgets.split(" ")[0]!;

    // Someone else's click, and a repository that was not offered, do nothing.
    api.calls.length = 0;
    await press("URITA", gadgets);
    await press("UALICE", `${pickId} acme/x-two`);
    expect(api.calls).toEqual([]);

    await press("UALICE", gadgets);
    const [reply] = posted();
    expect(reply).toMatchObject({ channel: "CPICK", thread_ts: "1700002000.000001" });
    expect(reply!.text).toMatch(/^Starting a session on acme\/gadgets — picked from the list: /);
    const prompts = await listPrompts(app.inspect.database.db, sessionIdIn(reply!.text));
    expect(prompts.map((p) => [p.authorLogin, p.source, p.text])).toEqual([
      ["alice", "slack", "make the build faster"],
    ]);
    const replaced = api.calls.find((c) => c.method === "hooks/picker");
    expect(replaced!.args).toEqual({ replace_original: true, text: "Picked acme/gadgets." });

    // A second click (a double click, or a second button) starts nothing more.
    api.calls.length = 0;
    await press("UALICE", buttons[1]!.value);
    expect(api.calls).toEqual([]);
  }, 30_000);
});

describe("direct messages", () => {
  const dm = (extra: Record<string, unknown>) =>
    send({ type: "message", channel: "D1", channel_type: "im", ts: `1700003000.${++n}`, ...extra });

  it("start sessions without a mention; bots, edits and other subtypes are no requests; a reply in its thread is a follow-up", async () => {
    await dm({ user: "UALICE", text: "acme/widgets bump the dependencies", ts: "1700003000.000001" });
    const [reply] = posted();
    expect(reply).toMatchObject({ channel: "D1", thread_ts: "1700003000.000001" });
    expect(reply!.text).toMatch(/^Starting a session on acme\/widgets — named in the request: /);
    const id = sessionIdIn(reply!.text);

    api.calls.length = 0;
    await dm({ bot_id: "B1", subtype: "bot_message", text: "acme/widgets from a bot" });
    await dm({ user: "UALICE", subtype: "message_changed", text: "acme/widgets edited" });
    await dm({ bot_id: "BINSPECT", user: "UBOT", text: "Starting a session on acme/widgets" });
    await dm({ user: "UALICE", text: "and the lockfile", thread_ts: "1700003000.000001" });
    expect(posted()).toEqual([]);
    const prompts = await listPrompts(app.inspect.database.db, id);
    expect(prompts.map((p) => p.text)).toEqual(["bump the dependencies", "and the lockfile"]);

    // No repository named, in a direct message: the picker.
    await dm({ user: "UALICE", text: "what is left to do?" });
    expect(api.calls.filter((c) => c.method === "chat.postEphemeral").map((c) => c.args.channel)).toEqual(["D1"]);
  }, 30_000);
});
