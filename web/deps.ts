/**
 * What the web needs from the control plane, declared here so web/ depends on
 * nothing but protocol/ and itself: app/ implements this (app/read/web-deps.ts)
 * and hands it to webRoutes(deps). Pages get view models from the read service,
 * never table rows.
 */
import type { Context } from "hono";
import type { SessionStatus } from "../protocol/events.js";
import type { Stats, StatsWindow } from "../protocol/stats.js";

/** Who is looking. */
export interface Viewer {
  login: string;
  id: number | null;
  avatarUrl: string | null;
  /** The viewer's OAuth token (server side only), null in local mode. */
  token: string | null;
  local: boolean;
}

export interface RepositoryView {
  id: number;
  /** owner/name (for a local repository, a name derived from its path). */
  fullName: string;
  /** Set for local-mode repositories (a path on this machine). */
  localPath: string | null;
}

export interface SessionView {
  id: string;
  repositoryId: number;
  /** issue | pull_request | web | local */
  threadKind: string;
  threadNumber: number | null;
  title: string;
  status: SessionStatus;
  headBranch: string;
  prNumber: number | null;
  prUrl: string | null;
  createdAt: Date;
  /** The session whose agent spawned this one; null or absent for a person's session. */
  parentSessionId?: string | null;
}

export interface SessionListItem {
  session: SessionView;
  repo: RepositoryView;
  author: { login: string; avatarUrl: string | null } | null;
}

/** Which stats: the repositories (already checked readable), the window and the viewer's time zone. */
export interface StatsQuery {
  repositoryIds: number[];
  days: StatsWindow;
  timeZone: string;
  /** owner/name when filtered to one repository. */
  repository: string | null;
}

/** The control plane's read side, as far as the pages need it. */
export interface ReadService {
  /** Newest first, with repository and creator joined in (warm sandboxes excluded). */
  recentSessions(limit: number): Promise<SessionListItem[]>;
  /** Every repository, by full name. */
  repositories(): Promise<RepositoryView[]>;
  repositoryByFullName(fullName: string): Promise<RepositoryView | undefined>;
  /** The session and its repository, or undefined when there is no such session. */
  session(id: string): Promise<{ session: SessionView; repo: RepositoryView } | undefined>;
  /** Stats over the last `days` days, for sessions in the given repositories only. */
  stats(query: StatsQuery): Promise<Stats>;
}

/** Who is looking, and what they may see. */
interface AccessPolicy {
  /** The signed-in viewer, or null (→ 401 / sign-in redirect). */
  viewer(c: Context): Promise<Viewer | null>;
  /** May see the repository's sessions (page, API and events, room token, list, stats). */
  canRead(viewer: Viewer, repo: RepositoryView): Promise<boolean>;
  canWrite(viewer: Viewer, repo: RepositoryView): Promise<boolean>;
}

/** What a warm-up request came to: started (or not needed), or refused for an expected reason (no write access, not a git repository). */
type WarmupOutcome = { warming: boolean } | { refused: string };

export interface WebLog {
  warn(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export interface WebDeps {
  read: ReadService;
  access: AccessPolicy;
  /** GitHub sign-in is configured (otherwise local mode: this machine only). */
  oauth: boolean;
  /** GitHub's web address, for links to issues and pull requests. */
  githubWebUrl: string;
  /** The default model, shown as the new-session form's placeholder. */
  defaultModel: string | null;
  /** The room server (browser-facing URL and shared secret); null → pages poll the API. */
  rooms: { url: string; secret: string } | null;
  /** Start preparing a sandbox for `repo` while the user types; rejects on unexpected failures. */
  warmup?: (viewer: Viewer, repo: string) => Promise<WarmupOutcome>;
  /** Where failures the browser is not told about go (warm-up); the console when not given. */
  log?: WebLog;
}
