/**
 * Slack: one route for everything Slack sends (`POST /api/slack/events`: the Events API and
 * interactivity), the account-linking page (`/slack/link`), and Bolt's Web API client pointed at
 * SLACK_API_URL. A request is size-limited, its `v0` signature checked on the raw body with a
 * timestamp within five minutes, an event id claimed in the database (Slack retries), then acked
 * at once; the work runs in the background: link_shared unfurls session links (unfurl.ts); an
 * app_mention or a direct message is a request (start.ts): its repository is chosen
 * (choose.ts) or picked (picker.ts), and the session's reply is kept current (reporter.ts);
 * replies in that thread become follow-ups, one thread's in the order Slack sent them, and the
 * reply's Stop button (interactivity) stops the session (thread.ts).
 */
import { App, isValidSlackRequest, type Logger as BoltLogger, LogLevel, webApi } from "@slack/bolt";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { RepositoryRef, Viewer } from "../api/access.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { BackgroundTasks, Logger } from "../util/tasks.js";
import type { SessionService } from "../sessions/service.js";
import type { SessionStarter } from "../sessions/starter.js";
import { slackLinkRoutes } from "./link.js";
import { cachedCandidates } from "./choose.js";
import { createClassifier } from "./classifier.js";
import { PICK_ACTION, pickFromButton } from "./picker.js";
import { SlackThreadReporter } from "./reporter.js";
import { AppMention, fromDirectMessage, fromMention } from "./request.js";
import { handleRequest } from "./start.js";
import { claimSlackEvent, pruneSlackEvents } from "./store.js";
import { BlockActions, followUpFromThread, stopFromButton, threadOf, ThreadMessage } from "./thread.js";
import { LinkShared, unfurlLinks } from "./unfurl.js";

export interface SlackDeps {
  config: Pick<Config, "publicUrl" | "github" | "oauth" | "classifier" | "runner"> & {
    slack: NonNullable<Config["slack"]>;
  };
  db: Db;
  secret: string;
  tasks: BackgroundTasks;
  log: Logger;
  canRead(viewer: Viewer, repo: RepositoryRef): Promise<boolean>;
  viewer(c: Context): Promise<Viewer | null>;
  /** Starting sessions from `@inspect owner/repo <task>`. */
  starter: Pick<SessionStarter, "repository">;
  sessions: Pick<SessionService, "create" | "get" | "queue" | "stop">;
  /** owner/name of every repository the App is installed on (none without a GitHub App). */
  installedRepositories(): Promise<string[]>;
}

export interface Slack {
  /** Mount at /api/slack. */
  events: Hono;
  /** Mount at /slack. */
  pages: Hono;
  /** Keeps the replies of sessions started from Slack current (attach with attachReporters). */
  reporter: SlackThreadReporter;
  stop(): void;
}

const MAX_BODY = 512 * 1024;
const MAX_SKEW_SECONDS = 5 * 60;
const EVENT_RETENTION_MS = 24 * 3_600_000;

const Envelope = z.object({
  type: z.string().max(64),
  challenge: z.string().max(200).optional(),
  event_id: z.string().max(64).optional(),
  team_id: z.string().max(64).optional(),
  event: z
    .object({ type: z.string().max(64) })
    .passthrough()
    .optional(),
});

export function createSlack(deps: SlackDeps): Slack {
  const { config, db, log, tasks } = deps;
  const slack = config.slack;
  const bolt = new App({
    signingSecret: slack.signingSecret,
    token: slack.botToken,
    tokenVerificationEnabled: false,
    logger: boltLogger(log),
    logLevel: LogLevel.INFO,
    clientOptions: {
      slackApiUrl: slack.apiUrl,
      timeout: 10_000,
      retryConfig: { retries: 2, factor: 1, minTimeout: 200, maxTimeout: 2_000 },
    },
  });
  const client = bolt.client;
  client.on(webApi.WebClientEvent.RATE_LIMITED, (retryAfter: number, req: { url?: string }) =>
    log.warn(
      { retryAfter, url: req?.url },
      `Slack rate-limited ${req?.url ?? "a call"}: retrying after ${retryAfter}s`,
    ),
  );

  const unfurlDeps = {
    db,
    secret: deps.secret,
    publicUrl: config.publicUrl,
    githubWebUrl: config.github.webUrl,
    client,
    canRead: deps.canRead,
    log,
  };

  const classifier = config.classifier;
  log.info(
    classifier
      ? `Slack: repository classifier ${classifier.provider}/${classifier.model} (sure from ${classifier.threshold})`
      : "Slack: no repository classifier (INSPECT_CLASSIFIER_MODEL unset): when no rule chooses the repository, the asker picks",
  );
  const startDeps = {
    db,
    secret: deps.secret,
    publicUrl: config.publicUrl,
    apiUrl: slack.apiUrl,
    client,
    starter: deps.starter,
    sessions: deps.sessions,
    showCard: (id: string) => reporter.sync(id),
    log,
    choose: {
      client,
      // The runner repository holds the runner workflow, not work to do: never a candidate.
      candidates: cachedCandidates(
        deps.installedRepositories,
        config.runner.kind === "actions" ? [config.runner.repo] : [],
      ),
      classify: classifier ? createClassifier(classifier, log) : null,
      threshold: classifier?.threshold ?? 1,
    },
  };
  const threadDeps = { ...startDeps, sessions: deps.sessions };
  // One thread's follow-ups are handled one after another, so they queue in the order Slack sent them.
  const chains = new Map<string, Promise<void>>();
  const inOrder = (key: string, fn: () => Promise<void>): Promise<void> => {
    const next = (chains.get(key) ?? Promise.resolve()).catch(() => {}).then(fn);
    chains.set(key, next);
    const done = () => void (chains.get(key) === next && chains.delete(key));
    next.then(done, done);
    return next;
  };

  const reporter = new SlackThreadReporter({
    db,
    publicUrl: config.publicUrl,
    githubWebUrl: config.github.webUrl,
    client,
    log,
  });

  const events = new Hono();
  events.post(
    "/events",
    bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.json({ error: "body too large" }, 413) }),
    async (c) => {
      const raw = await c.req.text();
      if (!verified(slack.signingSecret, c, raw)) return c.json({ error: "bad or stale Slack signature" }, 401);
      if ((c.req.header("content-type") ?? "").includes("application/x-www-form-urlencoded")) {
        // Interactivity: the reply's Stop button and the repository picker ("View session" is a plain link).
        const payload = new URLSearchParams(raw).get("payload");
        let parsed;
        try {
          parsed = BlockActions.safeParse(JSON.parse(payload ?? ""));
        } catch {
          return c.json({ error: "expected a JSON payload" }, 400);
        }
        if (parsed.success) {
          const data = parsed.data;
          const picked = data.actions.some((a) => a.action_id.startsWith(PICK_ACTION));
          tasks.run("slack block_actions", () =>
            picked ? pickFromButton(startDeps, data) : stopFromButton(threadDeps, data),
          );
        }
        return c.body(null, 200);
      }
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        return c.json({ error: "expected a JSON body" }, 400);
      }
      const body = Envelope.safeParse(json);
      if (!body.success) return c.json({ error: "not a Slack event" }, 400);
      if (body.data.type === "url_verification") return c.json({ challenge: body.data.challenge ?? "" });
      if (body.data.type !== "event_callback" || !body.data.event_id || !body.data.event) return c.body(null, 200);
      if (!(await claimSlackEvent(db, body.data.event_id))) {
        log.info({ eventId: body.data.event_id }, "Slack event seen before: skipped");
        return c.body(null, 200);
      }
      const teamId = body.data.team_id ?? "";
      const event = body.data.event;
      tasks.run(`slack ${event.type} ${body.data.event_id}`, async () => {
        if (event.type === "link_shared") {
          const parsed = LinkShared.safeParse(event);
          if (parsed.success) await unfurlLinks(unfurlDeps, teamId, parsed.data);
          else log.warn({ eventId: body.data.event_id }, "Slack link_shared event not understood");
        } else if (event.type === "app_mention") {
          const parsed = AppMention.safeParse(event);
          if (!parsed.success)
            return log.warn({ eventId: body.data.event_id }, "Slack app_mention event not understood");
          const { channel, thread_ts } = parsed.data;
          // In a session's thread a mention is a follow-up, which its message event brings.
          if (thread_ts && (await threadOf(db, teamId, channel, thread_ts))) return;
          await handleRequest(startDeps, fromMention(teamId, parsed.data));
        } else if (event.type === "message") {
          const parsed = ThreadMessage.safeParse(event);
          if (!parsed.success) return log.warn({ eventId: body.data.event_id }, "Slack message event not understood");
          const m = parsed.data;
          const inSession = m.thread_ts && (await threadOf(db, teamId, m.channel, m.thread_ts));
          const direct = fromDirectMessage(teamId, m);
          // A direct message is a request, unless it answers in a session's thread: then it is a follow-up.
          if (direct && !inSession) await handleRequest(startDeps, direct);
          else if (m.thread_ts)
            await inOrder(`${teamId}:${m.channel}:${m.thread_ts}`, () => followUpFromThread(threadDeps, teamId, m));
        }
      });
      return c.body(null, 200);
    },
  );

  const pages = slackLinkRoutes({
    db,
    secret: deps.secret,
    publicUrl: config.publicUrl,
    signInAvailable: Boolean(config.oauth),
    viewer: deps.viewer,
  });

  const prune = () =>
    tasks.run("prune Slack event ids", () => pruneSlackEvents(db, new Date(Date.now() - EVENT_RETENTION_MS)));
  const pruner = setInterval(prune, 3_600_000);
  pruner.unref();
  return { events, pages, reporter, stop: () => clearInterval(pruner) };
}

/** Slack's `v0` signature over the raw body, and a timestamp no more than five minutes off either way. */
function verified(signingSecret: string, c: Context, raw: string): boolean {
  const signature = c.req.header("x-slack-signature");
  const ts = Number(c.req.header("x-slack-request-timestamp"));
  if (!signature || !Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > MAX_SKEW_SECONDS) return false;
  return isValidSlackRequest({
    signingSecret,
    body: raw,
    headers: { "x-slack-signature": signature, "x-slack-request-timestamp": ts },
  });
}

/** Bolt's and its Web API client's log lines, into ours. */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) =>
    msg.map((m) => (typeof m === "string" ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(" ");
  return {
    debug: (...msg) => log.debug({ name: "slack" }, text(msg)),
    info: (...msg) => log.info({ name: "slack" }, text(msg)),
    warn: (...msg) => log.warn({ name: "slack" }, text(msg)),
    error: (...msg) => log.error({ name: "slack" }, text(msg)),
    setLevel: (l) => void (level = l),
    getLevel: () => level,
    setName: () => {},
  };
}
