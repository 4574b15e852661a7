/**
 * The repository classifier through the real app: INSPECT_CLASSIFIER_MODEL names a provider of
 * the operator's OpenCode config, which points at a scripted OpenAI-compatible server; Slack's
 * Web API is a local server, GitHub a fake with the App on several repositories.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config.js";
import { listPrompts } from "../db/prompts.js";
import { linkSlackUser, postToSlackRoute, startFakeSlack, type FakeSlack } from "../../test/support/fake-slack.js";
import { startModelServer, textStep, type ModelServer } from "../../test/support/model-server.js";
import { startWebStack, type WebStack } from "../../test/support/web-stack.js";

const SECRET = "slack-signing-secret-for-classifier-tests";
const write = { pull: true, push: true };

let app: WebStack;
let api: FakeSlack;
let model: ModelServer;
let n = 0;

beforeAll(async () => {
  api = await startFakeSlack();
  model = await startModelServer();
  const provider = model.opencodeProvider("scripted", "router-mini");
  (provider.scripted as { options: Record<string, string> }).options.apiKey = "{env:ROUTER_KEY}";
  app = await startWebStack(
    { alice: { "acme/widgets": write, "acme/gadgets": write, "acme/billing": write } },
    {
      withRooms: false,
      githubApp: true,
      installedRepos: { "acme/gadgets": 43, "acme/billing": 44 },
      env: {
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_BOT_TOKEN: "xoxb-test",
        SLACK_API_URL: api.url,
        INSPECT_OPENCODE_CONFIG: JSON.stringify({ provider }),
        INSPECT_CLASSIFIER_MODEL: "scripted/router-mini",
        ROUTER_KEY: "router-secret-key",
      },
    },
  );
  await linkSlackUser(app, api, SECRET, "UALICE", "alice");
}, 60_000);

afterAll(async () => {
  await app?.close();
  await api?.close();
  await model?.close();
});

beforeEach(() => {
  api.calls.length = 0;
  model.reset();
});

const answer = (repository: string, confidence: number) => textStep(JSON.stringify({ repository, confidence }));

async function ask(text: string, thread_ts?: string) {
  const ts = `1700004000.${String(++n).padStart(6, "0")}`;
  const res = await postToSlackRoute(app.url, SECRET, {
    type: "event_callback",
    team_id: "T1",
    event_id: `EvClassify${n}`,
    event: { type: "app_mention", user: "UALICE", text: `<@UBOT> ${text}`, ts, channel: "CBILL", thread_ts },
  });
  expect(res.status).toBe(200);
  await app.inspect.tasks.drain();
  return ts;
}

describe("the repository classifier", () => {
  it("when sure, chooses the repository and says so; it is asked with the message, the thread, the channel's name and the candidates", async () => {
    api.answer("conversations.info", {
      status: 200,
      body: { ok: true, channel: { id: "CBILL", name: "billing-team" } },
    });
    api.answer("conversations.replies", {
      status: 200,
      body: {
        ok: true,
        messages: [
          { ts: "1700003999.000001", user: "UBOB", text: "invoices are rounded wrong since Monday" },
          { ts: "1700004000.000001", user: "UALICE", text: "<@UBOT> fix the rounding" },
        ],
      },
    });
    model.push(answer("acme/billing", 0.93));
    await ask("fix the rounding", "1700003999.000001");
    const [reply] = api.calls.filter((c) => c.method === "chat.postMessage");
    expect(reply!.args.text).toMatch(/^Starting a session on acme\/billing — chosen by the classifier \(93% sure\): /);
    const id = /\/sessions\/([\w-]+)/.exec(reply!.args.text)![1]!;
    expect((await listPrompts(app.inspect.database.db, id))[0]).toMatchObject({ text: "fix the rounding" });

    const [request] = model.requests;
    expect(request!.body.model).toBe("router-mini");
    expect(request!.body.response_format).toMatchObject({ type: "json_schema" });
    const prompt = JSON.stringify(request!.body.messages);
    expect(prompt).toContain("#billing-team");
    expect(prompt).toContain("UBOB: invoices are rounded wrong since Monday");
    expect(prompt).toContain("fix the rounding");
    for (const repo of ["acme/billing", "acme/gadgets", "acme/widgets"]) expect(prompt).toContain(repo);
    expect(prompt).not.toContain("acme/inspect-runner");
  }, 20_000);

  it("when unsure, offers the picker with its guess first; the click starts the session", async () => {
    model.push(answer("acme/widgets", 0.42));
    await ask("make it faster");
    expect(api.calls.filter((c) => c.method === "chat.postMessage")).toEqual([]);
    const picker = api.calls.find((c) => c.method === "chat.postEphemeral")!;
    expect(picker.args.text).toMatch(/best guess \(42% sure\)/);
    const buttons = picker.args.blocks[1].elements as { text: { text: string }; value: string }[];
    expect(buttons.map((b) => b.text.text)).toEqual(["acme/widgets", "acme/billing", "acme/gadgets"]);

    api.calls.length = 0;
    const res = await postToSlackRoute(
      app.url,
      SECRET,
      {
        type: "block_actions",
        user: { id: "UALICE", team_id: "T1" },
        team: { id: "T1" },
        channel: { id: "CBILL" },
        response_url: api.hooksUrl(),
        actions: [{ action_id: "pick_repository_1", value: buttons[1]!.value, type: "button" }],
      },
      true,
    );
    expect(res.status).toBe(200);
    await app.inspect.tasks.drain();
    const [reply] = api.calls.filter((c) => c.method === "chat.postMessage");
    expect(reply!.args.text).toMatch(/^Starting a session on acme\/billing — picked from the list: /);
    expect(api.calls.some((c) => c.method === "hooks/picker" && c.args.replace_original === true)).toBe(true);
  }, 20_000);

  it("a repository that is not a candidate, nonsense or a failing model all count as unsure", async () => {
    model.push(answer("evil/elsewhere", 0.99), textStep("I think it is billing"), {
      kind: "error",
      status: 400,
      message: "bad request",
    });
    for (const task of ["one", "two", "three"]) await ask(task);
    expect(api.calls.filter((c) => c.method === "chat.postMessage")).toEqual([]);
    expect(api.calls.filter((c) => c.method === "chat.postEphemeral")).toHaveLength(3);
    expect(app.inspect.tasks.failures).toBe(0);
  }, 30_000);
});

describe("INSPECT_CLASSIFIER_MODEL", () => {
  const base = { SLACK_SIGNING_SECRET: "s", SLACK_BOT_TOKEN: "xoxb-1" };
  const opencode = (options: Record<string, string>) =>
    JSON.stringify({ provider: { router: { npm: "@ai-sdk/openai-compatible", options } } });

  it("takes its endpoint and key from its OpenCode provider ({env:…} filled in), or OpenAI's", () => {
    const config = loadConfig({
      ...base,
      INSPECT_OPENCODE_CONFIG: opencode({ baseURL: "https://llm.example.com/v1", apiKey: "{env:LLM_KEY}" }),
      INSPECT_CLASSIFIER_MODEL: "router/small/fast",
      INSPECT_CLASSIFIER_THRESHOLD: "0.8",
      LLM_KEY: "k1",
    });
    expect(config.classifier).toEqual({
      provider: "router",
      model: "small/fast",
      baseURL: "https://llm.example.com/v1",
      apiKey: "k1",
      threshold: 0.8,
    });
    expect(loadConfig({ INSPECT_CLASSIFIER_MODEL: "openai/gpt-4o-mini", OPENAI_API_KEY: "k2" }).classifier).toEqual({
      provider: "openai",
      model: "gpt-4o-mini",
      baseURL: "https://api.openai.com/v1",
      apiKey: "k2",
      threshold: 0.7,
    });
    expect(loadConfig({}).classifier).toBeNull();
  });

  it("stops startup naming the variable when the provider cannot be reached as OpenAI-compatible or its key is unset", () => {
    expect(() => loadConfig({ INSPECT_CLASSIFIER_MODEL: "anthropic/claude-haiku" })).toThrow(ConfigError);
    expect(() =>
      loadConfig({
        INSPECT_OPENCODE_CONFIG: opencode({ baseURL: "https://x.example/v1", apiKey: "{env:NOPE}" }),
        INSPECT_CLASSIFIER_MODEL: "router/m",
      }),
    ).toThrow(/INSPECT_CLASSIFIER_MODEL: expected NOPE set/);
    expect(() => loadConfig({ INSPECT_CLASSIFIER_MODEL: "openai/m", INSPECT_CLASSIFIER_THRESHOLD: "2" })).toThrow(
      /INSPECT_CLASSIFIER_THRESHOLD/,
    );
  });
});
