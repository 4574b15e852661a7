/**
 * A session's Slack thread, after the start: replies there by a linked writer (the same write
 * check as starting) are queued on the session as follow-ups, attributed to them; the reply's
 * **Stop** button stops the session for a linked writer. Everyone and everything else is ignored
 * (an unlinked person gets one ephemeral invitation to link per thread) or told "not allowed".
 */
import { and, desc, eq } from "drizzle-orm";
import type { App } from "@slack/bolt";
import { z } from "zod";
import type { Viewer } from "../api/access.js";
import { getRepository, upsertUser } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { slackThreads } from "../db/schema.js";
import { SessionClosedError, type SessionService } from "../sessions/service.js";
import { StartError, type SessionStarter } from "../sessions/starter.js";
import type { Logger } from "../util/tasks.js";
import { linkUrl } from "./link.js";
import { claimSlackEvent } from "./store.js";
import { linkedViewer, slackCall } from "./unfurl.js";

export const STOP_ACTION = "stop_session";

export const ThreadMessage = z.object({
  type: z.literal("message"),
  subtype: z.string().max(64).optional(),
  bot_id: z.string().max(64).optional(),
  user: z.string().max(64).optional(),
  text: z.string().max(40_000).optional(),
  ts: z.string().max(64),
  channel: z.string().max(64),
  thread_ts: z.string().max(64).optional(),
  /** "im" for a direct message to the app. */
  channel_type: z.string().max(32).optional(),
});
export type ThreadMessageEvent = z.infer<typeof ThreadMessage>;

export const BlockActions = z.object({
  type: z.literal("block_actions"),
  user: z.object({ id: z.string().max(64), team_id: z.string().max(64).optional() }),
  team: z
    .object({ id: z.string().max(64) })
    .nullable()
    .optional(),
  channel: z.object({ id: z.string().max(64) }).optional(),
  /** For an ephemeral message (the repository picker), where to replace it. */
  response_url: z.string().url().max(2000).optional(),
  actions: z.array(z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional() })).max(25),
});
export type BlockActionsPayload = z.infer<typeof BlockActions>;

export interface ThreadDeps {
  db: Db;
  secret: string;
  publicUrl: string;
  client: { chat: Pick<App["client"]["chat"], "postEphemeral"> };
  starter: Pick<SessionStarter, "repository">;
  sessions: Pick<SessionService, "get" | "queue" | "stop">;
  log: Logger;
}

/** The session Inspect started in this Slack thread, if any (the latest, should there be more). */
export async function threadOf(db: Db, teamId: string, channel: string, threadTs: string) {
  const [row] = await db
    .select()
    .from(slackThreads)
    .where(and(eq(slackThreads.teamId, teamId), eq(slackThreads.channel, channel), eq(slackThreads.threadTs, threadTs)))
    .orderBy(desc(slackThreads.createdAt))
    .limit(1);
  return row;
}

/** Slack's text without mentions, with &amp; &lt; &gt; undone. */
export function plainText(text: string): string {
  return text
    .replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .trim();
}

/** The linked viewer if GitHub says they may write to the session's repository (as when starting); else null. */
async function writer(deps: ThreadDeps, viewer: Viewer, sessionId: string): Promise<boolean> {
  const session = await deps.sessions.get(sessionId);
  const repo = session && (await getRepository(deps.db, session.repositoryId));
  if (!repo) return false;
  try {
    await deps.starter.repository(viewer, repo.fullName);
    return true;
  } catch (err) {
    if (err instanceof StartError) return false;
    throw err;
  }
}

/** A reply in a thread: a follow-up on the thread's session when a linked writer sent it. */
export async function followUpFromThread(deps: ThreadDeps, teamId: string, event: ThreadMessageEvent): Promise<void> {
  const { client, log } = deps;
  // Edits, deletions, joins, bots (ourselves included) and top-level messages are not follow-ups.
  if (event.subtype || event.bot_id || !event.user || !event.thread_ts || event.thread_ts === event.ts) return;
  const thread = await threadOf(deps.db, teamId, event.channel, event.thread_ts);
  if (!thread) return; // not a thread Inspect started
  const text = plainText(event.text ?? "");
  if (!text) return;
  const ephemeral = (message: string) =>
    slackCall(log, "chat.postEphemeral", () =>
      client.chat.postEphemeral({
        channel: event.channel,
        user: event.user!,
        thread_ts: thread.threadTs,
        text: message,
      }),
    );
  const viewer = await linkedViewer(deps, teamId, event.user);
  if (!viewer) {
    // One invitation per person and thread (the claim is kept as long as event ids are).
    if (await claimSlackEvent(deps.db, `invite:${teamId}:${event.channel}:${event.thread_ts}:${event.user}`)) {
      const url = await linkUrl(deps.publicUrl, deps.secret, teamId, event.user);
      await ephemeral(`To send follow-ups to this session from Slack, link your GitHub account: ${url}`);
    }
    return;
  }
  if (!(await writer(deps, viewer, thread.sessionId))) {
    log.info({ sessionId: thread.sessionId, login: viewer.login }, "Slack thread reply without write access: ignored");
    return;
  }
  const author = await upsertUser(deps.db, { login: viewer.login, githubId: viewer.id, avatarUrl: viewer.avatarUrl });
  try {
    await deps.sessions.queue(thread.sessionId, { author, text, source: "slack" });
  } catch (err) {
    if (err instanceof SessionClosedError) return void (await ephemeral(`Not queued: ${err.message}.`));
    throw err;
  }
}

/** The reply's Stop button: a linked writer stops the session; anyone else is told no, privately. */
export async function stopFromButton(deps: ThreadDeps, payload: BlockActionsPayload): Promise<void> {
  const action = payload.actions.find((a) => a.action_id === STOP_ACTION);
  if (!action?.value) return;
  const [thread] = await deps.db.select().from(slackThreads).where(eq(slackThreads.sessionId, action.value));
  const teamId = payload.team?.id ?? payload.user.team_id ?? "";
  // Only the button on a reply Inspect posted in this workspace and channel.
  if (!thread || thread.teamId !== teamId || (payload.channel && payload.channel.id !== thread.channel)) return;
  const user = payload.user.id;
  const ephemeral = (text: string) =>
    slackCall(deps.log, "chat.postEphemeral", () =>
      deps.client.chat.postEphemeral({ channel: thread.channel, user, thread_ts: thread.threadTs, text }),
    );
  const viewer = await linkedViewer(deps, teamId, user);
  if (!viewer || !(await writer(deps, viewer, thread.sessionId))) {
    return void (await ephemeral(
      viewer
        ? "You are not allowed to stop this session: it needs write access to the repository."
        : `You are not allowed to stop this session until you link a GitHub account with write access: ${await linkUrl(deps.publicUrl, deps.secret, teamId, user)}`,
    ));
  }
  if (!(await deps.sessions.stop(thread.sessionId, viewer.login))) {
    const session = await deps.sessions.get(thread.sessionId);
    await ephemeral(`Nothing to stop: the session is ${session?.status ?? "gone"}.`);
  }
}
