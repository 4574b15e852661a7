import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { PromptSource, SessionStatus } from "../../protocol/events.js";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const installations = pgTable("installations", {
  id: bigint("id", { mode: "number" }).primaryKey(),
  accountLogin: text("account_login").notNull(),
  createdAt: createdAt(),
});

export const repositories = pgTable(
  "repositories",
  {
    id: serial("id").primaryKey(),
    githubId: bigint("github_id", { mode: "number" }),
    owner: text("owner").notNull(),
    name: text("name").notNull(),
    fullName: text("full_name").notNull(),
    installationId: bigint("installation_id", { mode: "number" }),
    defaultBranch: text("default_branch").notNull().default("main"),
    private: boolean("private").notNull().default(true),
    /** Set for local-mode repositories (a path on this machine). */
    localPath: text("local_path"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("repositories_full_name").on(t.fullName)],
);

export const users = pgTable(
  "users",
  {
    id: serial("id").primaryKey(),
    githubId: bigint("github_id", { mode: "number" }),
    login: text("login").notNull(),
    name: text("name"),
    avatarUrl: text("avatar_url"),
    /** The user's OAuth token, encrypted with the app secret; set when they sign in. */
    oauthToken: text("oauth_token"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("users_login").on(t.login)],
);

export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    repositoryId: integer("repository_id")
      .notNull()
      .references(() => repositories.id),
    /** issue | pull_request | web | local */
    threadKind: text("thread_kind").notNull(),
    threadNumber: integer("thread_number"),
    title: text("title").notNull(),
    status: text("status").$type<SessionStatus>().notNull().default("queued"),
    statusReason: text("status_reason"),
    baseBranch: text("base_branch").notNull(),
    headBranch: text("head_branch").notNull(),
    headExists: boolean("head_exists").notNull().default(false),
    model: text("model"),
    createdByUserId: integer("created_by_user_id").references(() => users.id),
    prNumber: integer("pr_number"),
    prUrl: text("pr_url"),
    /** Set while one replica opens the PR, so concurrent pushes never open two. */
    prClaimedAt: timestamp("pr_claimed_at", { withTimezone: true }),
    checkRunId: bigint("check_run_id", { mode: "number" }),
    /** The check run is in progress (a new one is created when work resumes after it completed). */
    checkRunOpen: boolean("check_run_open").notNull().default(false),
    checkRunSha: text("check_run_sha"),
    /** `<head sha>:<check run it follows>` claimed by the replica creating the next check run (never two). */
    checkRunClaim: text("check_run_claim"),
    /** When that claim was made: a replica that died holding it is taken over after a while. */
    checkRunClaimedAt: timestamp("check_run_claimed_at", { withTimezone: true }),
    statusCommentId: bigint("status_comment_id", { mode: "number" }),
    headSha: text("head_sha"),
    lastSeq: integer("last_seq").notNull().default(0),
    /** The session whose agent spawned this one (app/children); null for a person's session. */
    parentSessionId: text("parent_session_id"),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // A thread has one live session, also when two webhooks race (issue opened + assigned) on two
    // replicas. It is also the index the thread's session is found by (archived ones are never asked for).
    uniqueIndex("sessions_one_per_thread")
      .on(t.repositoryId, t.threadKind, t.threadNumber)
      .where(sql`${t.status} <> 'archived' and ${t.threadNumber} is not null`),
    // A pull request opened by Inspect is recognised by its head branch.
    index("sessions_head_branch").on(t.repositoryId, t.headBranch),
    index("sessions_status").on(t.status),
    index("sessions_created").on(t.createdAt),
    index("sessions_parent")
      .on(t.parentSessionId)
      .where(sql`${t.parentSessionId} is not null`),
  ],
);

/** One runner job for a session: dispatched, claimed, heartbeating, ended. */
export const runs = pgTable(
  "runs",
  {
    id: serial("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id),
    /** sha256 of the token the runner uses after claiming. */
    tokenHash: text("token_hash"),
    /** sha256 of the one-time claim token handed to a local runner. */
    claimTokenHash: text("claim_token_hash"),
    /** queued | claimed | ended */
    state: text("state").notNull().default("queued"),
    runnerInfo: jsonb("runner_info"),
    dispatchedAt: createdAt(),
    claimedAt: timestamp("claimed_at", { withTimezone: true }),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    endReason: text("end_reason"),
    /**
     * `actions` mode: the GitHub Actions workflow run of this runner job — as the dispatch answered
     * it, or as the claiming job's OIDC token named it (checked against the run's API record). One
     * workflow run claims one run row, ever.
     */
    githubRunId: bigint("github_run_id", { mode: "number" }),
  },
  (t) => [
    index("runs_session").on(t.sessionId),
    index("runs_state").on(t.state),
    uniqueIndex("runs_github_run_id")
      .on(t.githubRunId)
      .where(sql`${t.githubRunId} is not null`),
  ],
);

/**
 * Actions OIDC tokens that claimed a session (their `jti`), kept until they expire: a token is
 * accepted once, on any replica.
 */
export const oidcTokenUses = pgTable(
  "oidc_token_uses",
  {
    jti: text("jti").primaryKey(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("oidc_token_uses_expires").on(t.expiresAt)],
);

export type PromptStatus = "queued" | "running" | "done" | "failed" | "stopped" | "cancelled";

export const prompts = pgTable(
  "prompts",
  {
    id: serial("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id),
    authorUserId: integer("author_user_id").references(() => users.id),
    authorLogin: text("author_login").notNull(),
    source: text("source").$type<PromptSource>().notNull(),
    text: text("text").notNull(),
    /** Untrusted context: issue title/body, review comment path/line/diff hunk. */
    context: jsonb("context").$type<PromptContext>(),
    status: text("status").$type<PromptStatus>().notNull().default("queued"),
    /** The GitHub comment (or review comment) that carried the prompt, for reactions. */
    commentId: bigint("comment_id", { mode: "number" }),
    commentKind: text("comment_kind"),
    commits: jsonb("commits").$type<{ sha: string; message: string }[]>(),
    error: text("error"),
    usage: jsonb("usage"),
    summary: text("summary"),
    changedFiles: integer("changed_files"),
    createdAt: createdAt(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [index("prompts_session").on(t.sessionId, t.id)],
);

export interface PromptContext {
  thread?: { kind: string; number: number; title: string; body?: string | null; url?: string };
  review?: { path: string; line?: number | null; diffHunk?: string };
  /** Earlier prompts of the session, summarised for a new run. */
  history?: string;
}

export const events = pgTable(
  "events",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id),
    seq: integer("seq").notNull(),
    ts: timestamp("ts", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
    type: text("type").notNull(),
    data: jsonb("data").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);

/**
 * The webhook inbox: a delivery is stored before GitHub gets its 2xx and done only once its work
 * succeeded; unfinished ones are taken again (at start, on a timer, on any replica), a thread's in
 * the order they were received.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    /** GitHub's `x-github-delivery`. */
    id: text("id").primaryKey(),
    /** The event name (`issue_comment`); the action is in the payload. */
    event: text("event").notNull(),
    /** Null only for deliveries stored before the inbox existed (all done). */
    payload: jsonb("payload"),
    /** `<repository id>#<thread number>`: a thread's deliveries run one at a time, oldest first. */
    threadKey: text("thread_key"),
    receivedAt: timestamp("received_at", { withTimezone: true })
      .notNull()
      .default(sql`now()`),
    attempts: integer("attempts").notNull().default(0),
    /** The replica working on it, until `locked_until` (a lease, renewed while it works). */
    lockedBy: text("locked_by"),
    /** Not taken again before this: the lease of whoever works on it, or the backoff after a failure. */
    lockedUntil: timestamp("locked_until", { withTimezone: true }),
    doneAt: timestamp("done_at", { withTimezone: true }),
    /** Given up after too many attempts (logged); it no longer holds its thread back. */
    failedAt: timestamp("failed_at", { withTimezone: true }),
    lastError: text("last_error"),
  },
  (t) => [
    index("webhook_deliveries_open")
      .on(t.threadKey, t.receivedAt)
      .where(sql`${t.doneAt} is null and ${t.failedAt} is null`),
  ],
);

/** Someone without write access who was told so on a thread: told once per thread, not per comment. */
export const githubRefusals = pgTable(
  "github_refusals",
  {
    repositoryGithubId: bigint("repository_github_id", { mode: "number" }).notNull(),
    threadNumber: integer("thread_number").notNull(),
    login: text("login").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.repositoryGithubId, t.threadNumber, t.login] })],
);

/** Slack event ids already taken (Slack retries an event it thinks was not acknowledged). */
export const slackEvents = pgTable("slack_events", {
  id: text("id").primaryKey(),
  receivedAt: timestamp("received_at", { withTimezone: true })
    .notNull()
    .default(sql`now()`),
});

/** A Slack user (in one workspace) linked to the GitHub account they signed in with. */
export const slackLinks = pgTable(
  "slack_links",
  {
    teamId: text("team_id").notNull(),
    slackUserId: text("slack_user_id").notNull(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.slackUserId] })],
);

/** A session started from Slack: the thread it answers in, and the reply kept current. */
export const slackThreads = pgTable("slack_threads", {
  sessionId: text("session_id")
    .primaryKey()
    .references(() => sessions.id),
  teamId: text("team_id").notNull(),
  channel: text("channel").notNull(),
  threadTs: text("thread_ts").notNull(),
  /** The reply with the session's card (chat.update edits it). */
  messageTs: text("message_ts").notNull(),
  /** The asking message's permalink, for the PR body (null when Slack would not give one). */
  permalink: text("permalink"),
  /** How the repository was chosen (named, channel default, only one, classifier, picked), shown on the card. */
  chosenBy: text("chosen_by"),
  createdAt: createdAt(),
});

/** A Slack channel's default repository (`@inspect use owner/repo here`), set by a linked writer. */
export const slackChannelDefaults = pgTable(
  "slack_channel_defaults",
  {
    teamId: text("team_id").notNull(),
    channel: text("channel").notNull(),
    repositoryId: integer("repository_id")
      .notNull()
      .references(() => repositories.id),
    setByUserId: integer("set_by_user_id")
      .notNull()
      .references(() => users.id),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.channel] })],
);

/**
 * A request from Slack waiting for its asker to pick the repository (the picker's buttons
 * carry this id); taken once, by the first click.
 */
export const slackPicks = pgTable("slack_picks", {
  id: text("id").primaryKey(),
  teamId: text("team_id").notNull(),
  channel: text("channel").notNull(),
  threadTs: text("thread_ts").notNull(),
  /** The asking message (its permalink is fetched when the session starts). */
  messageTs: text("message_ts").notNull(),
  slackUserId: text("slack_user_id").notNull(),
  text: text("text").notNull(),
  /** owner/name of each button, in order. */
  candidates: jsonb("candidates").$type<string[]>().notNull(),
  takenAt: timestamp("taken_at", { withTimezone: true }),
  createdAt: createdAt(),
});

/**
 * The warm pool (app/pool): sandboxes prepared for a repository before anyone asks. A slot is
 * claimed by its runner with a one-time token, becomes `ready` once the runner has booted, is
 * `assigned` to a session's queued run, `handed` once its runner took that session over, and
 * `ended` otherwise (recycled, died, shut down). A ready slot holds no session and no write token.
 */
export const poolSlots = pgTable(
  "pool_slots",
  {
    id: text("id").primaryKey(),
    repositoryId: integer("repository_id")
      .notNull()
      .references(() => repositories.id),
    /** The branch the sandbox was prepared from (the repository's default branch). */
    baseBranch: text("base_branch").notNull(),
    /** starting | ready | assigned | handed | ended */
    state: text("state").notNull().default("starting"),
    claimTokenHash: text("claim_token_hash"),
    tokenHash: text("token_hash"),
    sessionId: text("session_id").references(() => sessions.id),
    runId: integer("run_id"),
    createdAt: createdAt(),
    claimedAt: timestamp("claimed_at", { withTimezone: true }),
    readyAt: timestamp("ready_at", { withTimezone: true }),
    assignedAt: timestamp("assigned_at", { withTimezone: true }),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    endReason: text("end_reason"),
    /** pool (kept ready for a session) | rebuild (prepared from the default branch, then handed back as the snapshot). */
    purpose: text("purpose").notNull().default("pool"),
    /**
     * `actions` mode: the workflow run of the slot's job — as the dispatch answered it, or as the
     * claiming job's OIDC token named it (checked against the run's record). One run claims one slot.
     */
    githubRunId: bigint("github_run_id", { mode: "number" }),
  },
  (t) => [
    index("pool_slots_repo_state").on(t.repositoryId, t.state),
    index("pool_slots_state").on(t.state),
    uniqueIndex("pool_slots_github_run_id")
      .on(t.githubRunId)
      .where(sql`${t.githubRunId} is not null`),
  ],
);

/**
 * Files a session's agent made that people should see — the browser's screenshots — stored by
 * the control plane and served with the session's access check (app/artifacts).
 */
export const artifacts = pgTable(
  "artifacts",
  {
    id: serial("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    /** Base64: small images only (ARTIFACT_MAX_BYTES), and every driver stores text alike. */
    data: text("data").notNull(),
    size: integer("size").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("artifacts_session").on(t.sessionId)],
);
