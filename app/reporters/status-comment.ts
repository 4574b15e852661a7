/**
 * The one status comment on the thread of a session started from GitHub: posted when the
 * session is queued for the first time, edited in place as it moves (skipped when its text
 * would not change).
 */
import { listChildren } from "../children/queries.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { lastEventOfType } from "../db/events.js";
import { listPrompts } from "../db/prompts.js";
import { updateSession, type SessionRow } from "../db/sessions.js";
import type { GitHubGateway } from "../github/gateway.js";
import { statusCommentBody } from "../github/status-comment.js";
import type { SessionService } from "../sessions/service.js";
import { isActive, lastTurn } from "../sessions/state.js";
import { sessionUrl } from "../sessions/url.js";
import { sessionUsage } from "../usage/session-usage.js";
import { usageLine } from "../../protocol/usage.js";
import type { Reporter } from "./reporter.js";

export interface StatusCommentDeps {
  db: Db;
  config: Config;
  github: GitHubGateway;
  sessions: SessionService;
}

/** Sessions on these threads have a status comment; web and local ones do not. */
const GITHUB_THREADS = ["issue", "pull_request"];

export class StatusCommentReporter implements Reporter {
  readonly name = "status comment";
  readonly syncOn = [
    "session.status",
    "pr.opened",
    "prompt.started",
    "prompt.finished",
    "git.push",
    "tool.call",
    "child.updated",
  ] as const;
  readonly on = {
    "session.status": async (sessionId: string) => this.open(sessionId),
  };
  /** The last text sent per active session, to skip edits that change nothing. */
  private readonly lastBody = new Map<string, string>();

  constructor(private readonly deps: StatusCommentDeps) {}

  /** Post the comment of a GitHub thread's session that has none yet. */
  async open(sessionId: string): Promise<void> {
    const session = await this.deps.sessions.get(sessionId);
    if (
      !session ||
      session.statusCommentId ||
      session.threadNumber === null ||
      !GITHUB_THREADS.includes(session.threadKind)
    )
      return;
    const repo = await this.deps.sessions.repository(session);
    if (!repo.installationId) return;
    const body = await this.body(session);
    const commentId = await this.deps.github.comment(
      repo.installationId,
      repo.owner,
      repo.name,
      session.threadNumber,
      body,
    );
    await updateSession(this.deps.db, sessionId, { statusCommentId: commentId });
    if (isActive(session.status)) this.lastBody.set(sessionId, body);
  }

  async sync(sessionId: string): Promise<void> {
    const session = await this.deps.sessions.get(sessionId);
    if (!session?.statusCommentId) return;
    const repo = await this.deps.sessions.repository(session);
    if (!repo.installationId) return;
    const body = await this.body(session);
    if (this.lastBody.get(sessionId) === body) return;
    await this.deps.github.editComment(repo.installationId, repo.owner, repo.name, session.statusCommentId, body);
    // Ended sessions rarely change again: forget them so the cache stays small.
    if (isActive(session.status)) this.lastBody.set(sessionId, body);
    else this.lastBody.delete(sessionId);
  }

  private async body(session: SessionRow): Promise<string> {
    let activity: string | null = null;
    if (session.status === "running") {
      const tool = await lastEventOfType(this.deps.db, session.id, "tool.call");
      if (tool?.type === "tool.call") activity = tool.data.title ?? tool.data.tool;
    }
    const turn = session.status === "idle" ? lastTurn(await listPrompts(this.deps.db, session.id)) : null;
    const usage = await sessionUsage(this.deps.db, session.id);
    return statusCommentBody({
      status: session.status,
      reason: session.statusReason,
      sessionUrl: sessionUrl(this.deps.config.publicUrl, session.id),
      prUrl: session.prUrl,
      activity,
      turn,
      usage: usage.parts ? usageLine(usage) : null,
      children: (await listChildren(this.deps.db, session.id)).map((c) => ({
        title: c.title,
        sessionUrl: sessionUrl(this.deps.config.publicUrl, c.id),
        status: c.status,
        prUrl: c.prUrl,
      })),
    });
  }
}
