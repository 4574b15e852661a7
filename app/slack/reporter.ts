/**
 * Keeps the Slack reply of a session started from Slack current (chat.update with the session's
 * card, and a Stop button while the session is active), through the reporter interface: synced,
 * throttled, after status, prompt, push and PR events.
 */
import { eq } from "drizzle-orm";
import type { App } from "@slack/bolt";
import { ACTIVE_STATUSES, type EventType } from "../../protocol/events.js";
import { getRepository } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { slackThreads } from "../db/schema.js";
import { listPrompts } from "../db/prompts.js";
import { getSession } from "../db/sessions.js";
import type { Reporter } from "../reporters/reporter.js";
import { sessionUrl } from "../sessions/url.js";
import type { Logger } from "../util/tasks.js";
import { firstLine } from "./card.js";
import { STOP_ACTION } from "./thread.js";
import { failedTurnNote } from "./turn-note.js";
import { cardBlocks, slackCall } from "./unfurl.js";

export interface SlackThreadDeps {
  db: Db;
  publicUrl: string;
  githubWebUrl: string;
  client: { chat: Pick<App["client"]["chat"], "update"> };
  log: Logger;
}

export class SlackThreadReporter implements Reporter {
  readonly name = "slack thread";
  readonly syncOn: readonly EventType[] = ["session.status", "prompt.started", "prompt.finished", "pr.opened"];

  constructor(private readonly deps: SlackThreadDeps) {}

  async sync(sessionId: string): Promise<void> {
    const { db, client, log } = this.deps;
    const [thread] = await db.select().from(slackThreads).where(eq(slackThreads.sessionId, sessionId));
    if (!thread) return; // not started from Slack
    const session = await getSession(db, sessionId);
    const repo = session && (await getRepository(db, session.repositoryId));
    if (!session || !repo) return;
    const url = sessionUrl(this.deps.publicUrl, sessionId);
    const blocks = await cardBlocks(this.deps, session, repo, url);
    if (thread.chosenBy) {
      const note = { type: "context", elements: [{ type: "mrkdwn", text: `Repository: ${thread.chosenBy}` }] };
      blocks.splice(Math.max(0, blocks.length - 1), 0, note as (typeof blocks)[number]);
    }
    const failed = failedTurnNote(await listPrompts(db, sessionId));
    if (failed) blocks.splice(Math.max(0, blocks.length - 1), 0, failed as (typeof blocks)[number]);
    const actions = blocks.at(-1);
    if (actions?.type === "actions" && (ACTIVE_STATUSES as readonly string[]).includes(session.status)) {
      const stop = {
        type: "button",
        text: { type: "plain_text", text: "Stop" },
        style: "danger",
        action_id: STOP_ACTION,
        value: sessionId,
      };
      (actions.elements as unknown[]).push(stop);
    }
    const text = `${firstLine(session.title)} — ${session.status}: ${url}`;
    await slackCall(log, "chat.update", () =>
      client.chat.update({ channel: thread.channel, ts: thread.messageTs, text, blocks }),
    );
  }
}
