/**
 * GitHub intake: a parsed trigger becomes a call on the session service. Acknowledges first
 * (👀 within a second), then does the slower work. Knows GitHub, not Probot. Reporting back
 * (status comment, check run, PR, 🚀) is the reporters' (app/reporters), from the session bus.
 * Called by the webhook inbox (./inbox.ts), which stored the delivery, keeps a thread's deliveries
 * in order and may call again for one that failed or whose replica died: a request handled twice
 * must have one effect.
 */
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import {
  findRepositoryByFullName,
  upsertInstallation,
  upsertRepository,
  upsertUser,
  type RepositoryRow,
} from "../db/accounts.js";
import { hasOpenPromptFrom, listPrompts, promptFromRequest } from "../db/prompts.js";
import { claimRefusal, releaseRefusal } from "../db/refusals.js";
import {
  findSessionByCheckRun,
  findSessionByHeadBranch,
  findSessionByPullRequest,
  findThreadSession,
  type SessionRow,
} from "../db/sessions.js";
import { isUniqueViolation } from "../db/errors.js";
import type { PromptContext } from "../db/schema.js";
import type { PromptSource } from "../../protocol/events.js";
import { sessionBranch } from "../sessions/branch.js";
import { SessionClosedError, type NewPrompt, type SessionService } from "../sessions/service.js";
import { isActive } from "../sessions/state.js";
import { sessionIdFromUrl } from "../sessions/url.js";
import type { BackgroundTasks, Logger } from "../util/tasks.js";
import type { GitHubGateway } from "./gateway.js";
import { canTrigger, type PermissionCache } from "./permissions.js";
import { stripHidden } from "./sanitize.js";
import type { Actor, RepoRef, ThreadRef, Trigger } from "./triggers.js";

export interface IntakeDeps {
  db: Db;
  config: Config;
  github: GitHubGateway;
  permissions: PermissionCache;
  sessions: SessionService;
  tasks: BackgroundTasks;
  log: Logger;
}

export type IntakeResult =
  | { outcome: "created"; sessionId: string }
  | { outcome: "queued"; sessionId: string }
  | { outcome: "stopped" | "archived" | "rerun"; sessionId: string }
  | { outcome: "denied" | "ignored" | "refused"; reason: string };

/** The delivery a trigger came in: a retry looks for what an earlier attempt already did. */
export interface DeliveryInfo {
  receivedAt: Date;
  /** 1 on the first attempt. */
  attempt: number;
}

/** Prompt sources that are the issue itself (its body or its assignment), not a comment on it. */
const ISSUE_ITSELF: readonly PromptSource[] = ["github_issue", "github_assignment"];

export class GitHubIntake {
  constructor(private readonly deps: IntakeDeps) {}

  /**
   * One trigger, start to end. The order of a thread's triggers is the caller's (the inbox takes
   * a thread's deliveries one at a time, oldest first); a failure throws, and the caller retries.
   */
  async handle(
    trigger: Trigger,
    delivery: DeliveryInfo = { receivedAt: new Date(), attempt: 1 },
  ): Promise<IntakeResult> {
    switch (trigger.kind) {
      case "ignore":
        return { outcome: "ignored", reason: trigger.reason };
      case "prompt":
        return this.prompt(trigger, delivery);
      case "stop":
        return this.stop(trigger);
      case "archive":
        return this.archive(trigger);
      case "check_run_stop":
      case "check_run_rerun":
        return this.checkRunAction(trigger, delivery);
    }
  }

  /**
   * Write, maintain or admin — else, when `reply`, one polite reply per person and thread (someone
   * who keeps asking is not answered every time) and nothing runs.
   */
  private async allowed(repo: RepoRef, thread: ThreadRef, actor: Actor, reply: boolean): Promise<boolean> {
    const permission = await this.deps.permissions.get(repo.installationId!, repo.owner, repo.name, actor.login);
    if (canTrigger(permission)) return true;
    const key = { repositoryGithubId: repo.githubId, threadNumber: thread.number, login: actor.login };
    if (reply && (await claimRefusal(this.deps.db, key))) {
      try {
        await this.deps.github.comment(
          repo.installationId!,
          repo.owner,
          repo.name,
          thread.number,
          `Sorry @${actor.login}, only people with write access to ${repo.owner}/${repo.name} can ask @${this.deps.config.botHandle} to work on it.`,
        );
      } catch (err) {
        await releaseRefusal(this.deps.db, key);
        throw err;
      }
    }
    return false;
  }

  private async prompt(t: Extract<Trigger, { kind: "prompt" }>, delivery: DeliveryInfo): Promise<IntakeResult> {
    const { github } = this.deps;
    if (!t.repo.installationId) return { outcome: "ignored", reason: "no installation in payload" };
    const inst = t.repo.installationId;
    if (await this.openedByInspect(t)) return { outcome: "ignored", reason: "a pull request Inspect opened" };
    if (!(await this.allowed(t.repo, t.thread, t.actor, true)))
      return { outcome: "denied", reason: `@${t.actor.login} lacks write permission` };
    // Taken again after a failure or a crash: the request may already be a prompt.
    const done = delivery.attempt > 1 ? await this.alreadyQueued(t, delivery) : null;
    if (done) return { outcome: "queued", sessionId: done };

    // Acknowledge before anything slow.
    const ackTarget = t.comment ?? { issue: t.thread.number };
    // In the background: writes to one installation are spaced (octokit.ts), and the thread's next
    // request must not wait for this one's reaction to get its turn.
    this.deps.tasks.run("👀", () =>
      github
        .react(inst, t.repo.owner, t.repo.name, ackTarget, "eyes")
        .catch((err) => this.deps.log.warn({ err }, "could not react")),
    );

    const repo = await this.repository(t.repo);
    const author = await upsertUser(this.deps.db, {
      login: t.actor.login,
      githubId: t.actor.id,
      avatarUrl: t.actor.avatarUrl,
    });
    const context: PromptContext = {
      thread: {
        kind: t.thread.kind,
        number: t.thread.number,
        title: t.thread.title,
        body: t.thread.body ? stripHidden(t.thread.body) : null,
        url: t.thread.url,
      },
      review: t.review ? { path: t.review.path, line: t.review.line, diffHunk: t.review.diffHunk } : undefined,
    };
    const prompt = { author, text: stripHidden(t.text), source: t.source, context, comment: t.comment };

    const queued = await this.queueOnThread(repo, t.thread, prompt);
    if (queued) {
      return { outcome: "queued", sessionId: queued };
    }

    let base = repo.defaultBranch;
    let head: string;
    let headExists = false;
    let headSha: string | null = null;
    let prNumber: number | null = null;
    let prUrl: string | null = null;
    if (t.thread.kind === "pull_request") {
      const pr = await github.pullRequest(inst, repo.owner, repo.name, t.thread.number);
      if (pr.fork) {
        await github.comment(
          inst,
          repo.owner,
          repo.name,
          t.thread.number,
          `Sorry @${t.actor.login}, I can't work on pull requests from forks: their code never runs with this repository's credentials.`,
        );
        return { outcome: "refused", reason: "fork pull request" };
      }
      base = pr.baseRef;
      head = pr.headRef;
      headExists = true;
      // The PR's head commit gets its check run from the start, not only after the first push.
      headSha = pr.headSha;
      prNumber = pr.number;
      prUrl = pr.url;
    } else {
      head = sessionBranch(t.thread.number, t.thread.title);
    }

    let session: SessionRow;
    try {
      ({ session } = await this.deps.sessions.create(
        {
          repo,
          threadKind: t.thread.kind,
          threadNumber: t.thread.number,
          title: t.thread.title,
          baseBranch: base,
          headBranch: head,
          headExists,
          headSha,
          createdBy: author,
          prNumber,
          prUrl,
        },
        prompt,
      ));
    } catch (err) {
      // Another delivery (e.g. "opened" and "assigned" for one issue) created the thread's session first.
      if (!isUniqueViolation(err, "sessions_one_per_thread")) throw err;
      const raced = await this.queueOnThread(repo, t.thread, prompt);
      if (!raced) throw err;
      this.deps.log.info(
        { sessionId: raced, thread: t.thread.number },
        "another delivery created this thread's session first; the request went there",
      );
      return { outcome: "queued", sessionId: raced };
    }
    // The status comment is the status comment reporter's (app/reporters), posted as the session is queued.
    return { outcome: "created", sessionId: session.id };
  }

  private async stop(t: Extract<Trigger, { kind: "stop" }>): Promise<IntakeResult> {
    if (!t.repo.installationId) return { outcome: "ignored", reason: "no installation in payload" };
    // A writer's session is stopped by writers only: an issue's author may close it, anyone may be
    // able to unassign. A stop comment gets the one reply; closing and unassigning get none.
    if (!(await this.allowed(t.repo, t.thread, t.actor, t.comment !== null)))
      return { outcome: "denied", reason: `@${t.actor.login} lacks write permission` };
    const repo = await this.repository(t.repo);
    const session = await this.threadSession(repo, t.thread);
    if (!session || !isActive(session.status))
      return { outcome: "ignored", reason: "no active session on this thread" };
    if (t.comment)
      await this.deps.github.react(t.repo.installationId, repo.owner, repo.name, t.comment, "eyes").catch(() => {});
    await this.deps.sessions.stop(session.id, t.actor.login, t.reason);
    return { outcome: "stopped", sessionId: session.id };
  }

  private async archive(t: Extract<Trigger, { kind: "archive" }>): Promise<IntakeResult> {
    const repo = await this.repository(t.repo);
    const session = await this.threadSession(repo, t.thread);
    if (!session) return { outcome: "ignored", reason: "no session on this pull request" };
    await this.deps.sessions.archive(session.id, t.merged ? "pull request merged" : "pull request closed");
    return { outcome: "archived", sessionId: session.id };
  }

  /** The check run's Stop button, or "Re-run": the last prompt runs again, attributed to who asked. */
  private async checkRunAction(
    t: Extract<Trigger, { kind: "check_run_stop" | "check_run_rerun" }>,
    delivery: DeliveryInfo,
  ): Promise<IntakeResult> {
    if (!t.repo.installationId) return { outcome: "ignored", reason: "no installation in payload" };
    const repo = await this.repository(t.repo);
    const session =
      (await findSessionByCheckRun(this.deps.db, repo.id, t.checkRunId)) ??
      (await this.sessionOfOlderCheckRun(repo, t.externalId));
    if (!session) return { outcome: "ignored", reason: "not an Inspect check run" };
    const thread: ThreadRef = {
      kind: session.threadKind === "pull_request" ? "pull_request" : "issue",
      number: session.threadNumber ?? 0,
      title: session.title,
      body: null,
      url: "",
    };
    if (!(await this.allowed(t.repo, thread, t.actor, session.threadNumber !== null)))
      return { outcome: "denied", reason: `@${t.actor.login} lacks write permission` };
    if (t.kind === "check_run_stop") {
      await this.deps.sessions.stop(session.id, t.actor.login, `stopped by @${t.actor.login} from the check run`);
      return { outcome: "stopped", sessionId: session.id };
    }
    const already =
      delivery.attempt > 1 &&
      (await promptFromRequest(this.deps.db, session.id, {
        commentId: null,
        source: "rerun",
        authorLogin: t.actor.login,
        since: delivery.receivedAt,
      }));
    if (already) return { outcome: "rerun", sessionId: session.id };
    const last = (await listPrompts(this.deps.db, session.id)).filter((p) => p.status !== "cancelled").at(-1);
    if (!last) return { outcome: "ignored", reason: "nothing to re-run" };
    const author = await upsertUser(this.deps.db, {
      login: t.actor.login,
      githubId: t.actor.id,
      avatarUrl: t.actor.avatarUrl,
    });
    await this.deps.sessions.queue(session.id, { author, text: last.text, source: "rerun", context: last.context });
    return { outcome: "rerun", sessionId: session.id };
  }

  /**
   * A check run that a newer commit superseded is no longer the session's, but its buttons
   * still work: Inspect created it with the session link as its external id (only the app that
   * created a check run hears of its buttons), and the session must be in the same repository.
   */
  private async sessionOfOlderCheckRun(
    repo: RepositoryRow,
    externalId: string | null,
  ): Promise<SessionRow | undefined> {
    const id = sessionIdFromUrl(this.deps.config.publicUrl, externalId);
    if (!id) return undefined;
    const session = await this.deps.sessions.get(id);
    return session?.repositoryId === repo.id ? session : undefined;
  }

  /**
   * A PR opened with the requester's own token arrives as their `pull_request.opened`; its
   * body is ours and must never become a prompt (the body has no mention, and this holds even
   * if a quoted text slipped one through). Known by its head branch: a session's that is
   * opening, or has opened, its PR.
   */
  private async openedByInspect(t: Extract<Trigger, { kind: "prompt" }>): Promise<boolean> {
    if (t.thread.kind !== "pull_request" || t.comment || !t.thread.headRef) return false;
    // A repository we have never seen has no session; nothing is written on this check.
    const repo = await findRepositoryByFullName(this.deps.db, `${t.repo.owner}/${t.repo.name}`);
    const owner = repo && (await findSessionByHeadBranch(this.deps.db, repo.id, t.thread.headRef));
    return Boolean(owner?.prClaimedAt);
  }

  /** The session an earlier attempt of this delivery already queued the prompt on, or null. */
  private async alreadyQueued(t: Extract<Trigger, { kind: "prompt" }>, delivery: DeliveryInfo): Promise<string | null> {
    const known = await findRepositoryByFullName(this.deps.db, `${t.repo.owner}/${t.repo.name}`);
    const session = known && (await this.threadSession(known, t.thread));
    if (!session) return null;
    const prompt = await promptFromRequest(this.deps.db, session.id, {
      commentId: t.comment?.id ?? null,
      source: t.source,
      authorLogin: t.actor.login,
      since: delivery.receivedAt,
    });
    return prompt ? session.id : null;
  }

  /** Queue on the thread's session if it has one that takes prompts; its id, or null. */
  private async queueOnThread(repo: RepositoryRow, thread: ThreadRef, prompt: NewPrompt): Promise<string | null> {
    const existing = await this.threadSession(repo, thread);
    if (!existing) return null;
    // "Work on this issue" twice — opened mentioning the bot and assigned to it at once — is one request.
    if (ISSUE_ITSELF.includes(prompt.source) && (await hasOpenPromptFrom(this.deps.db, existing.id, ISSUE_ITSELF)))
      return existing.id;
    try {
      await this.deps.sessions.queue(existing.id, prompt);
      return existing.id;
    } catch (err) {
      if (err instanceof SessionClosedError) return null;
      throw err;
    }
  }

  /** A session that opened a PR owns the PR's thread; otherwise the thread's own session. */
  private async threadSession(repo: RepositoryRow, thread: ThreadRef): Promise<SessionRow | undefined> {
    if (thread.kind === "pull_request") {
      const owner = await findSessionByPullRequest(this.deps.db, repo.id, thread.number);
      if (owner) return owner;
    }
    return findThreadSession(this.deps.db, repo.id, thread.kind, thread.number);
  }

  private async repository(r: RepoRef): Promise<RepositoryRow> {
    if (r.installationId) await upsertInstallation(this.deps.db, r.installationId, r.owner);
    return upsertRepository(this.deps.db, {
      githubId: r.githubId,
      owner: r.owner,
      name: r.name,
      installationId: r.installationId,
      defaultBranch: r.defaultBranch,
      private: r.private,
    });
  }
}
