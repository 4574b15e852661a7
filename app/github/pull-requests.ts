/**
 * The work becomes a pull request owned by the person who asked: opened on the
 * session's first push (with their own OAuth token when they have signed in,
 * so they cannot approve their own agent's work), its body refreshed after
 * each turn.
 */
import { openToken } from "../auth/crypto.js";
import type { Config } from "../config.js";
import { getUser } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { claimPullRequestOpening, updateSession } from "../db/sessions.js";
import { listPrompts } from "../db/prompts.js";
import { promptTitle } from "../sessions/branch.js";
import type { EventLog } from "../sessions/event-log.js";
import type { SessionService } from "../sessions/service.js";
import type { Logger } from "../util/tasks.js";
import type { Actor, GitHubGateway } from "./gateway.js";
import { summaryInput } from "./session-summary.js";
import { pullRequestBody } from "./summary.js";

export interface PullRequestDeps {
  db: Db;
  config: Config;
  github: GitHubGateway;
  sessions: SessionService;
  events: EventLog;
  secret: string;
  log: Logger;
}

export class PullRequests {
  constructor(private readonly deps: PullRequestDeps) {}

  /** Open the session's PR if it has none yet. Safe to call on every push, concurrently. */
  async ensureOpened(sessionId: string): Promise<void> {
    const { db, github, config } = this.deps;
    const session = await this.deps.sessions.get(sessionId);
    if (!session || session.prNumber || !session.headExists) return;
    const repo = await this.deps.sessions.repository(session);
    if (!repo.installationId) return; // local repositories get no PR
    if (!(await claimPullRequestOpening(db, sessionId))) return;
    try {
      const prompts = await listPrompts(db, sessionId);
      const title = promptTitle(
        session.threadKind === "issue" ? session.title : (prompts[0]?.text ?? session.title),
        session.title,
      );
      const pr = {
        owner: repo.owner,
        repo: repo.name,
        head: session.headBranch,
        base: session.baseBranch,
        title,
        body: pullRequestBody(await summaryInput(db, config, session)),
        draft: config.draftPullRequests,
      };
      const asUser = await this.userActor(session.createdByUserId);
      let opened;
      try {
        opened = await github.createPullRequest(
          asUser ?? { installationId: repo.installationId },
          repo.installationId,
          pr,
        );
      } catch (err) {
        const status = (err as { status?: number }).status;
        // A revoked or under-scoped user token: the PR still gets opened, by the app.
        if (!asUser || (status !== 401 && status !== 403 && status !== 404)) throw err;
        this.deps.log.warn({ sessionId, status }, "opening the PR as the user failed; opening it as the app");
        opened = await github.createPullRequest({ installationId: repo.installationId }, repo.installationId, pr);
      }
      await updateSession(db, sessionId, { prNumber: opened.number, prUrl: opened.url });
      await this.deps.events.append(sessionId, [
        { type: "pr.opened", data: { number: opened.number, url: opened.url, draft: config.draftPullRequests } },
      ]);
    } catch (err) {
      await updateSession(db, sessionId, { prClaimedAt: null });
      const message = err instanceof Error ? err.message : String(err);
      await this.deps.events.append(sessionId, [
        { type: "error", data: { message: `Could not open the pull request: ${message}`, code: "pr_open_failed" } },
      ]);
      throw err;
    }
  }

  /** Refresh the summary in the body of a PR this session opened. */
  async refreshBody(sessionId: string): Promise<void> {
    const session = await this.deps.sessions.get(sessionId);
    if (!session?.prNumber || session.threadKind === "pull_request") return;
    const repo = await this.deps.sessions.repository(session);
    if (!repo.installationId) return;
    const body = pullRequestBody(await summaryInput(this.deps.db, this.deps.config, session));
    await this.deps.github.updatePullRequestBody(repo.installationId, repo.owner, repo.name, session.prNumber, body);
  }

  private async userActor(userId: number | null): Promise<Actor | null> {
    if (!userId) return null;
    const user = await getUser(this.deps.db, userId);
    if (!user?.oauthToken) return null;
    const token = openToken(this.deps.secret, user.oauthToken);
    return token ? { userToken: token } : null;
  }
}
