/**
 * Slack replaced at the HTTP boundary for tests and benchmarks: a local Web API (point
 * SLACK_API_URL at `url`) that records each call and answers from a per-method script (else
 * `{ok: true}`, with a `ts` for chat.postMessage and a permalink for chat.getPermalink), a
 * response_url endpoint (`hooksUrl`), and requests signed as Slack signs them.
 */
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { signIn, type WebStack } from "./web-stack.js";

export interface SlackCall {
  method: string;
  args: Record<string, any>;
  at: number;
}

export interface ScriptedAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type FakeSlack = Awaited<ReturnType<typeof startFakeSlack>>;

export async function startFakeSlack() {
  const calls: SlackCall[] = [];
  const script = new Map<string, ScriptedAnswer[]>();
  const listeners = new Set<(call: SlackCall) => void>();
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const path = new URL(req.url!, "http://x").pathname;
    const hook = path.startsWith("/hooks/");
    const method = hook ? path.slice(1) : path.replace(/^\/api\//, "");
    const args: Record<string, any> = {};
    if (hook) Object.assign(args, JSON.parse(body || "{}"));
    else for (const [k, v] of new URLSearchParams(body)) args[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
    const call = { method, args, at: performance.now() };
    calls.push(call);
    for (const listener of listeners) listener(call);
    const next = script.get(method)?.shift() ?? { status: 200, body: defaultAnswer(method, args) };
    res.writeHead(next.status, { "content-type": "application/json", ...next.headers });
    res.end(JSON.stringify(next.body));
  });
  const defaultAnswer = (method: string, args: Record<string, any>) => {
    if (method === "chat.postMessage") return { ok: true, channel: args.channel, ts: "1700000000.000100" };
    if (method === "chat.getPermalink")
      return {
        ok: true,
        channel: args.channel,
        permalink: `https://acme.slack.com/archives/${args.channel}/p${String(args.message_ts).replace(".", "")}`,
      };
    return { ok: true };
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/api/`,
    /** A response_url on this server (calls to it are recorded as method `hooks/<name>`). */
    hooksUrl: (name = "picker") => `${origin}/hooks/${name}`,
    calls,
    answer(method: string, ...answers: ScriptedAnswer[]) {
      script.set(method, answers);
    },
    /** Resolves with the next call of `method` (for timing). */
    next(method: string): Promise<SlackCall> {
      return new Promise((resolve) => {
        const listener = (call: SlackCall) => {
          if (call.method !== method) return;
          listeners.delete(listener);
          resolve(call);
        };
        listeners.add(listener);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Slack's request signature headers for `body` (JSON unless said otherwise). */
export function slackSignature(secret: string, body: string, ts = Math.floor(Date.now() / 1000)) {
  const signature = `v0=${createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex")}`;
  return {
    "x-slack-signature": signature,
    "x-slack-request-timestamp": String(ts),
    "content-type": "application/json",
  };
}

/** POST a signed event (JSON) or interactivity payload (form) to the app's Slack route. */
export function postToSlackRoute(appUrl: string, secret: string, payload: unknown, form = false) {
  const body = form ? new URLSearchParams({ payload: JSON.stringify(payload) }).toString() : JSON.stringify(payload);
  const headers = slackSignature(secret, body);
  if (form) headers["content-type"] = "application/x-www-form-urlencoded";
  return fetch(`${appUrl}/api/slack/events`, { method: "POST", body, headers });
}

/**
 * Link a Slack user to a GitHub login through the real flow: a request from them gets the
 * private invitation, whose link is confirmed signed in as `login`.
 */
export async function linkSlackUser(
  stack: WebStack,
  slack: FakeSlack,
  secret: string,
  slackUser: string,
  login: string,
): Promise<void> {
  const event = {
    type: "event_callback",
    team_id: "T1",
    event_id: `Ev-link-${slackUser}-${Math.random()}`,
    event: {
      type: "app_mention",
      user: slackUser,
      text: "<@UBOT> acme/widgets hello",
      ts: "1.000001",
      channel: "CLINK",
    },
  };
  await postToSlackRoute(stack.url, secret, event);
  await stack.inspect.tasks.drain();
  const invite = slack.calls.findLast((c) => c.method === "chat.postEphemeral" && c.args.user === slackUser);
  const t = new URL(invite!.args.text.match(/https?:\/\/\S+/)[0]).searchParams.get("t")!;
  const cookie = await signIn(stack, login);
  const res = await fetch(`${stack.url}/slack/link`, {
    method: "POST",
    headers: { cookie, origin: stack.url, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ t }),
  });
  if (res.status !== 200) throw new Error(`linking ${slackUser} failed: ${res.status}`);
}
