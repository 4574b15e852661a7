/**
 * Starting a session from Slack on a chosen repository, as the GitHub account the Slack user
 * linked, if GitHub says it may write there (the same check as starting from the web). The
 * thread gets a reply with the session link at once, saying how the repository was chosen; the
 * thread row keeps the asking message's permalink (for the PR body), and the Slack thread
 * reporter keeps the reply's card current.
 */
import type { App } from "@slack/bolt";
import type { Viewer } from "../api/access.js";
import { upsertUser } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { slackThreads } from "../db/schema.js";
import { sessionBranch } from "../sessions/branch.js";
import type { SessionService } from "../sessions/service.js";
import { StartError, type SessionStarter } from "../sessions/starter.js";
import { sessionUrl } from "../sessions/url.js";
import { newSessionId } from "../util/tokens.js";
import type { Logger } from "../util/tasks.js";
import type { SlackRequest } from "./request.js";
import { slackCall } from "./unfurl.js";

export interface StartSessionDeps {
  db: Db;
  publicUrl: string;
  client: { chat: Pick<App["client"]["chat"], "postMessage" | "getPermalink"> };
  starter: Pick<SessionStarter, "repository">;
  sessions: Pick<SessionService, "create">;
  /** Puts the session's card (and its Stop button) on the reply now that the thread is recorded. */
  showCard(sessionId: string): Promise<void>;
  log: Logger;
}

/** A reply in the request's thread (best effort). */
export function replyTo(deps: Pick<StartSessionDeps, "client" | "log">, req: SlackRequest, text: string) {
  return slackCall(deps.log, "chat.postMessage", () =>
    deps.client.chat.postMessage({ channel: req.channel, thread_ts: req.threadTs, text }),
  );
}

/** True when the session started; otherwise the thread was told why not. */
export async function startSession(
  deps: StartSessionDeps,
  req: SlackRequest,
  viewer: Viewer,
  task: string,
  ref: string,
  chosenBy: string,
): Promise<boolean> {
  let repo;
  try {
    repo = await deps.starter.repository(viewer, ref);
  } catch (err) {
    if (!(err instanceof StartError)) throw err;
    await replyTo(deps, req, `Cannot start on ${ref}: ${err.message}.`);
    return false;
  }
  const id = newSessionId();
  const url = sessionUrl(deps.publicUrl, id);
  const posted = await replyTo(deps, req, `Starting a session on ${repo.fullName} — ${chosenBy}: ${url}`);
  // For the PR body; asked while the session is created, not before the reply.
  const permalink = slackCall(deps.log, "chat.getPermalink", () =>
    deps.client.chat.getPermalink({ channel: req.channel, message_ts: req.ts }),
  );
  const author = await upsertUser(deps.db, { login: viewer.login, githubId: viewer.id, avatarUrl: viewer.avatarUrl });
  await deps.sessions.create(
    {
      repo,
      threadKind: "web",
      threadNumber: null,
      title: task,
      baseBranch: repo.defaultBranch,
      headBranch: sessionBranch(id, task),
      headExists: false,
      createdBy: author,
    },
    { author, text: task, source: "slack" },
    id,
  );
  if (posted?.ts) {
    const link = (await permalink)?.permalink;
    await deps.db
      .insert(slackThreads)
      .values({
        sessionId: id,
        teamId: req.teamId,
        channel: req.channel,
        threadTs: req.threadTs,
        messageTs: posted.ts,
        permalink: typeof link === "string" && /^https:\/\//.test(link) ? link.slice(0, 2_000) : null,
        chosenBy,
      })
      .onConflictDoNothing();
    await deps.showCard(id);
  }
  return true;
}
