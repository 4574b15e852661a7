/**
 * Webhook payload → what Inspect should do. Pure: no I/O, no Probot.
 */
import type { EmitterWebhookEvent, EmitterWebhookEventName } from "@octokit/webhooks";
import type { PromptSource } from "../../protocol/events.js";
import { findMention, isStopCommand } from "./mention.js";

export interface RepoRef {
  owner: string;
  name: string;
  githubId: number;
  installationId: number | null;
  defaultBranch: string;
  private: boolean;
}

export interface ThreadRef {
  kind: "issue" | "pull_request";
  number: number;
  title: string;
  body: string | null;
  url: string;
  /** A pull request's head branch, when the payload carries it. */
  headRef?: string;
}

export interface Actor {
  login: string;
  id: number;
  avatarUrl: string | null;
  isBot: boolean;
}

interface ReviewContext {
  path: string;
  line: number | null;
  diffHunk: string;
}

export type Trigger =
  | {
      kind: "prompt";
      repo: RepoRef;
      thread: ThreadRef;
      actor: Actor;
      text: string;
      source: PromptSource;
      comment: { id: number; kind: "issue_comment" | "review_comment" } | null;
      review: ReviewContext | null;
    }
  | {
      kind: "stop";
      repo: RepoRef;
      thread: ThreadRef;
      actor: Actor;
      reason: string;
      comment: { id: number; kind: "issue_comment" | "review_comment" } | null;
    }
  | { kind: "archive"; repo: RepoRef; thread: ThreadRef; actor: Actor; merged: boolean }
  | { kind: "check_run_stop"; repo: RepoRef; checkRunId: number; externalId: string | null; actor: Actor }
  | { kind: "check_run_rerun"; repo: RepoRef; checkRunId: number; externalId: string | null; actor: Actor }
  | { kind: "ignore"; reason: string };

export interface TriggerOptions {
  /** The mention handle, without @ (INSPECT_BOT_HANDLE). */
  handle: string;
  /** The app's bot user login, e.g. `inspect[bot]`; null when unknown. */
  botLogin: string | null;
}

type Payload<N extends EmitterWebhookEventName> = EmitterWebhookEvent<N>["payload"];

interface UserLike {
  login: string;
  id: number;
  avatar_url?: string;
  type?: string;
}

function actorOf(user: UserLike | null | undefined): Actor {
  const login = user?.login ?? "ghost";
  return {
    login,
    id: user?.id ?? 0,
    avatarUrl: user?.avatar_url ?? null,
    isBot: user?.type === "Bot" || login.endsWith("[bot]"),
  };
}

interface RepoPayload {
  repository: { owner: { login: string }; name: string; id: number; default_branch?: string; private: boolean };
  installation?: { id: number };
}

function repoOf(payload: RepoPayload): RepoRef {
  const r = payload.repository;
  return {
    owner: r.owner.login,
    name: r.name,
    githubId: r.id,
    installationId: payload.installation?.id ?? null,
    defaultBranch: r.default_branch ?? "main",
    private: r.private,
  };
}

const ignore = (reason: string): Trigger => ({ kind: "ignore", reason });

interface ThreadLike {
  number: number;
  title: string;
  body?: string | null;
  html_url: string;
  head?: { ref: string };
}
const issueThread = (i: ThreadLike): ThreadRef => ({
  kind: "issue",
  number: i.number,
  title: i.title,
  body: i.body ?? null,
  url: i.html_url,
});
const pullThread = (p: ThreadLike): ThreadRef => ({
  kind: "pull_request",
  number: p.number,
  title: p.title,
  body: p.body ?? null,
  url: p.html_url,
  ...(p.head?.ref ? { headRef: p.head.ref } : {}),
});

function fromMention(
  text: string | null | undefined,
  opts: TriggerOptions,
  base: {
    repo: RepoRef;
    thread: ThreadRef;
    actor: Actor;
    source: PromptSource;
    comment: { id: number; kind: "issue_comment" | "review_comment" } | null;
    review: ReviewContext | null;
  },
): Trigger {
  const mention = findMention(text, opts.handle);
  if (!mention) return ignore(`no @${opts.handle} mention`);
  if (isStopCommand(mention.after))
    return {
      kind: "stop",
      repo: base.repo,
      thread: base.thread,
      actor: base.actor,
      reason: `stopped by @${base.actor.login}`,
      comment: base.comment,
    };
  return { kind: "prompt", ...base, text: text!.trim() };
}

/**
 * A payload GitHub signed can still be one no GitHub would send (a bug, an Enterprise quirk,
 * a replay of an edited delivery): a trigger whose ids are not ids or whose text is not text is
 * ignored here, rather than failing later in the database and being retried for nothing.
 */
export function parseTrigger(name: string, payload: unknown, opts: TriggerOptions): Trigger {
  const t = readTrigger(name, payload, opts);
  return wellFormed(t) ? t : ignore(`malformed ${name} payload`);
}

const isId = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;
const isText = (s: unknown): s is string => typeof s === "string";
const isOptText = (s: unknown) => s === null || s === undefined || isText(s);

function wellFormed(t: Trigger): boolean {
  if (t.kind === "ignore") return true;
  const { repo, actor } = t;
  const repoOk =
    isId(repo.githubId) &&
    (repo.installationId === null || isId(repo.installationId)) &&
    isText(repo.owner) &&
    repo.owner.length > 0 &&
    isText(repo.name) &&
    repo.name.length > 0 &&
    isText(repo.defaultBranch) &&
    (repo.private === undefined || typeof repo.private === "boolean");
  if (!repoOk || !isText(actor.login) || !Number.isSafeInteger(actor.id) || !isOptText(actor.avatarUrl)) return false;
  if ("thread" in t) {
    const th = t.thread;
    if (!isId(th.number) || !isText(th.title) || !isOptText(th.body) || !isText(th.url) || !isOptText(th.headRef))
      return false;
  }
  if ((t.kind === "prompt" || t.kind === "stop") && t.comment && !isId(t.comment.id)) return false;
  if (t.kind === "prompt") {
    const r = t.review;
    if (!isText(t.text)) return false;
    if (r && (!isText(r.path) || !isText(r.diffHunk) || !(r.line === null || Number.isSafeInteger(r.line))))
      return false;
  }
  if (t.kind === "check_run_stop" || t.kind === "check_run_rerun") return isId(t.checkRunId) && isOptText(t.externalId);
  return true;
}

function readTrigger(name: string, payload: unknown, opts: TriggerOptions): Trigger {
  const p = payload as { action?: string; sender?: UserLike };
  const event = p.action ? `${name}.${p.action}` : name;
  const sender = actorOf(p.sender);
  // Bots never trigger anything, Inspect included: no loops.
  // Closing a thread ends its session whoever closes it (merge bots included).
  if (sender.isBot && event !== "pull_request.closed" && event !== "issues.closed")
    return ignore(`sender ${sender.login} is a bot`);

  switch (event) {
    case "issue_comment.created": {
      const e = payload as Payload<"issue_comment.created">;
      const issue = e.issue;
      const thread = issue.pull_request ? pullThread(issue) : issueThread(issue);
      return fromMention(e.comment.body, opts, {
        repo: repoOf(e),
        thread,
        actor: sender,
        source: "github_comment",
        comment: { id: e.comment.id, kind: "issue_comment" },
        review: null,
      });
    }
    case "pull_request_review_comment.created": {
      const e = payload as Payload<"pull_request_review_comment.created">;
      const pr = e.pull_request;
      return fromMention(e.comment.body, opts, {
        repo: repoOf(e),
        thread: pullThread(pr),
        actor: sender,
        source: "github_review_comment",
        comment: { id: e.comment.id, kind: "review_comment" },
        review: {
          path: e.comment.path,
          line: e.comment.line ?? e.comment.original_line ?? null,
          diffHunk: e.comment.diff_hunk,
        },
      });
    }
    case "pull_request_review.submitted": {
      // A review's summary mentioning the bot is a request like a comment. GitHub has no reactions
      // on reviews: the 👀 goes on the pull request.
      const e = payload as Payload<"pull_request_review.submitted">;
      return fromMention(e.review.body, opts, {
        repo: repoOf(e),
        thread: pullThread(e.pull_request),
        actor: sender,
        source: "github_review_comment",
        comment: null,
        review: null,
      });
    }
    case "issues.opened": {
      const e = payload as Payload<"issues.opened">;
      const issue = e.issue;
      return fromMention(issue.body, opts, {
        repo: repoOf(e),
        thread: issueThread(issue),
        actor: sender,
        source: "github_issue",
        comment: null,
        review: null,
      });
    }
    case "pull_request.opened": {
      const e = payload as Payload<"pull_request.opened">;
      const pr = e.pull_request;
      return fromMention(pr.body, opts, {
        repo: repoOf(e),
        thread: pullThread(pr),
        actor: sender,
        source: "github_issue",
        comment: null,
        review: null,
      });
    }
    case "issues.assigned": {
      const e = payload as Payload<"issues.assigned">;
      if (!opts.botLogin || e.assignee?.login?.toLowerCase() !== opts.botLogin.toLowerCase())
        return ignore("assignee is not Inspect");
      const issue = e.issue;
      const text = `${issue.title}\n\n${issue.body ?? ""}`.trim();
      return {
        kind: "prompt",
        repo: repoOf(e),
        thread: issueThread(issue),
        actor: sender,
        text,
        source: "github_assignment",
        comment: null,
        review: null,
      };
    }
    case "issues.unassigned": {
      const e = payload as Payload<"issues.unassigned">;
      if (!opts.botLogin || e.assignee?.login?.toLowerCase() !== opts.botLogin.toLowerCase())
        return ignore("assignee is not Inspect");
      return {
        kind: "stop",
        repo: repoOf(e),
        thread: issueThread(e.issue),
        actor: sender,
        reason: `unassigned by @${sender.login}`,
        comment: null,
      };
    }
    case "issues.closed": {
      const e = payload as Payload<"issues.closed">;
      return {
        kind: "stop",
        repo: repoOf(e),
        thread: issueThread(e.issue),
        actor: sender,
        reason: `issue closed by @${sender.login}`,
        comment: null,
      };
    }
    case "pull_request.closed": {
      const e = payload as Payload<"pull_request.closed">;
      return {
        kind: "archive",
        repo: repoOf(e),
        thread: pullThread(e.pull_request),
        actor: sender,
        merged: Boolean(e.pull_request.merged),
      };
    }
    case "check_run.requested_action": {
      const e = payload as Payload<"check_run.requested_action">;
      if (e.requested_action?.identifier !== "stop")
        return ignore(`unknown check run action ${e.requested_action?.identifier}`);
      return {
        kind: "check_run_stop",
        repo: repoOf(e),
        checkRunId: e.check_run.id,
        externalId: e.check_run.external_id ?? null,
        actor: sender,
      };
    }
    case "check_run.rerequested": {
      const e = payload as Payload<"check_run.rerequested">;
      return {
        kind: "check_run_rerun",
        repo: repoOf(e),
        checkRunId: e.check_run.id,
        externalId: e.check_run.external_id ?? null,
        actor: sender,
      };
    }
    default:
      return ignore(`event ${event} is not handled`);
  }
}

/** The webhook events the app subscribes to (app.yml lists the same). */
export const HANDLED_EVENTS = [
  "issue_comment.created",
  "pull_request_review_comment.created",
  "pull_request_review.submitted",
  "issues.opened",
  "issues.assigned",
  "issues.unassigned",
  "issues.closed",
  "pull_request.opened",
  "pull_request.closed",
  "check_run.requested_action",
  "check_run.rerequested",
] as const;

/**
 * The thread a delivery is about, `<repository id>#<number>`, whose deliveries are handled one at
 * a time in the order received; null when it has none (check runs: their own order is not needed).
 */
export function threadKeyOf(payload: unknown): string | null {
  const p = payload as {
    repository?: { id?: unknown };
    issue?: { number?: unknown };
    pull_request?: { number?: unknown };
  } | null;
  const repo = p?.repository?.id;
  const number = p?.issue?.number ?? p?.pull_request?.number;
  return Number.isSafeInteger(repo) && Number.isSafeInteger(number) ? `${repo}#${number}` : null;
}

/**
 * Whether a delivery could make Inspect act, judged before it is stored: most comments mention no
 * one, and need not be kept. An assignment to a bot is kept (which bot is Inspect is asked later).
 * A payload too malformed to read is not kept: it could never be handled.
 */
export function worthStoring(name: string, payload: unknown, handle: string): boolean {
  try {
    if (parseTrigger(name, payload, { handle, botLogin: null }).kind !== "ignore") return true;
    const p = payload as { action?: string; assignee?: UserLike | null; sender?: UserLike };
    const assignment = name === "issues" && (p.action === "assigned" || p.action === "unassigned");
    return assignment && actorOf(p.assignee).isBot && !actorOf(p.sender).isBot;
  } catch {
    return false;
  }
}
