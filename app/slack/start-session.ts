/**
 * `@inspect owner/repo <task>` in Slack starts a session on that repository (explicit repository
 * only, for now), as the GitHub account the Slack user linked, if GitHub says it may write there
 * (the same check as starting from the web). The thread gets a reply with the session link at
 * once; the Slack thread reporter keeps that reply's card current.
 */
import type { App } from "@slack/bolt";
import { z } from "zod";
import { upsertUser } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { slackThreads } from "../db/schema.js";
import { sessionBranch } from "../sessions/branch.js";
import type { SessionService } from "../sessions/service.js";
import { StartError, type SessionStarter } from "../sessions/starter.js";
import { newSessionId } from "../util/tokens.js";
import type { Logger } from "../util/tasks.js";
import { linkUrl } from "./link.js";
import { linkedViewer, slackCall } from "./unfurl.js";

export const AppMention = z.object({
  type: z.literal("app_mention"),
  user: z.string().max(64),
  text: z.string().max(40_000),
  ts: z.string().max(64),
  channel: z.string().max(64),
  thread_ts: z.string().max(64).optional(),
});
type AppMentionEvent = z.infer<typeof AppMention>;

export interface MentionDeps {
  db: Db;
  secret: string;
  publicUrl: string;
  client: { chat: Pick<App["client"]["chat"], "postMessage" | "postEphemeral" | "update"> };
  starter: Pick<SessionStarter, "repository">;
  sessions: Pick<SessionService, "create">;
  /** Puts the session's card (and its Stop button) on the reply now that the thread is recorded. */
  showCard(sessionId: string): Promise<void>;
  log: Logger;
}

/** `<@U…> owner/repo the task` → the repository and the task (Slack's &amp; &lt; &gt; undone). */
export function parseMention(text: string): { repo: string; task: string } | null {
  const plain = text.replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, " ").trim();
  const m = /^([\w.-]+\/[\w.-]+)\s+([\s\S]+)$/.exec(plain);
  if (!m) return null;
  const task = m[2]!.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").trim();
  return task ? { repo: m[1]!, task } : null;
}

export async function startFromMention(deps: MentionDeps, teamId: string, event: AppMentionEvent): Promise<void> {
  const { client, log } = deps;
  const thread = { channel: event.channel, thread_ts: event.thread_ts ?? event.ts };
  const reply = (text: string) =>
    slackCall(log, "chat.postMessage", () => client.chat.postMessage({ ...thread, text }));
  const asked = parseMention(event.text);
  if (!asked) return void (await reply("Tell me the repository and the task: `@inspect owner/repo what to do`."));
  const viewer = await linkedViewer(deps, teamId, event.user);
  if (!viewer) {
    // Only to the person who asked: a link token in the open could be used by someone else.
    const url = await linkUrl(deps.publicUrl, deps.secret, teamId, event.user);
    await slackCall(log, "chat.postEphemeral", () =>
      client.chat.postEphemeral({
        channel: event.channel,
        user: event.user,
        thread_ts: thread.thread_ts,
        text: `Link your GitHub account first, then ask again: ${url}`,
      }),
    );
    return;
  }
  let repo;
  try {
    repo = await deps.starter.repository(viewer, asked.repo);
  } catch (err) {
    if (err instanceof StartError) return void (await reply(`Cannot start on ${asked.repo}: ${err.message}.`));
    throw err;
  }
  const id = newSessionId();
  const url = `${deps.publicUrl}/sessions/${id}`;
  const posted = await reply(`Starting a session on ${repo.fullName}: ${url}`);
  const author = await upsertUser(deps.db, { login: viewer.login, githubId: viewer.id, avatarUrl: viewer.avatarUrl });
  await deps.sessions.create(
    {
      repo,
      threadKind: "web",
      threadNumber: null,
      title: asked.task,
      baseBranch: repo.defaultBranch,
      headBranch: sessionBranch(id, asked.task),
      headExists: false,
      createdBy: author,
    },
    { author, text: asked.task, source: "slack" },
    id,
  );
  if (posted?.ts) {
    await deps.db
      .insert(slackThreads)
      .values({ sessionId: id, teamId, channel: event.channel, threadTs: thread.thread_ts, messageTs: posted.ts })
      .onConflictDoNothing();
    await deps.showCard(id);
  }
}
