/**
 * Keeps the Slack reply of a session started from Slack current (chat.update with the session's
 * card), through the reporter interface: synced, throttled, after status, prompt, push and PR events.
 */
import { eq } from "drizzle-orm";
import type { App } from "@slack/bolt";
import type { EventType } from "../../protocol/events.js";
import { getRepository } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { slackThreads } from "../db/schema.js";
import { getSession } from "../db/sessions.js";
import type { Reporter } from "../reporters/reporter.js";
import type { Logger } from "../util/tasks.js";
import { firstLine } from "./card.js";
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
    const url = `${this.deps.publicUrl}/sessions/${sessionId}`;
    const blocks = await cardBlocks(this.deps, session, repo, url);
    const text = `${firstLine(session.title)} — ${session.status}: ${url}`;
    await slackCall(log, "chat.update", () =>
      client.chat.update({ channel: thread.channel, ts: thread.messageTs, text, blocks }),
    );
  }
}
