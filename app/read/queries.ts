/**
 * The read side of the control plane: the queries behind the web's pages, answering
 * with the view models the web declares (web/deps.ts), never table rows.
 */
import { and, desc, eq, gte, inArray, ne } from "drizzle-orm";
import type { RepositoryView, SessionListItem, SessionView, Stats } from "../../web/deps.js";
import { findRepositoryByFullName, getRepository, type RepositoryRow } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { events, prompts, repositories, sessions, users } from "../db/schema.js";
import { getSession, type SessionRow } from "../db/sessions.js";

function repositoryView(r: RepositoryRow): RepositoryView {
  return { id: r.id, fullName: r.fullName, localPath: r.localPath };
}

function sessionView(s: SessionRow): SessionView {
  return {
    id: s.id,
    repositoryId: s.repositoryId,
    threadKind: s.threadKind,
    threadNumber: s.threadNumber,
    title: s.title,
    status: s.status,
    headBranch: s.headBranch,
    prNumber: s.prNumber,
    prUrl: s.prUrl,
    createdAt: s.createdAt,
  };
}

/** Newest first, with repository and creator joined in. */
export async function recentSessions(db: Db, limit = 200): Promise<SessionListItem[]> {
  const rows = await db
    .select({ session: sessions, repo: repositories, login: users.login, avatarUrl: users.avatarUrl })
    .from(sessions)
    .innerJoin(repositories, eq(sessions.repositoryId, repositories.id))
    .leftJoin(users, eq(sessions.createdByUserId, users.id))
    .where(ne(sessions.threadKind, "warm")) // warm sandboxes no prompt has adopted are not sessions yet
    .orderBy(desc(sessions.createdAt))
    .limit(limit);
  return rows.map((r) => ({
    session: sessionView(r.session),
    repo: repositoryView(r.repo),
    author: r.login ? { login: r.login, avatarUrl: r.avatarUrl } : null,
  }));
}

export async function allRepositories(db: Db): Promise<RepositoryView[]> {
  return (await db.select().from(repositories).orderBy(repositories.fullName)).map(repositoryView);
}

export async function repositoryByFullName(db: Db, fullName: string): Promise<RepositoryView | undefined> {
  const repo = await findRepositoryByFullName(db, fullName);
  return repo && repositoryView(repo);
}

/** The session and its repository, or undefined when there is no such session. */
export async function sessionWithRepository(
  db: Db,
  id: string,
): Promise<{ session: SessionView; repo: RepositoryView } | undefined> {
  const session = await getSession(db, id);
  if (!session) return undefined;
  const repo = (await getRepository(db, session.repositoryId))!;
  return { session: sessionView(session), repo: repositoryView(repo) };
}

const ACTIVE_WINDOW_MS = 60 * 60 * 1000;

/** Stats over the last `days` days, for sessions in the given repositories only. */
export async function sessionStats(db: Db, repositoryIds: number[], days = 14, now = new Date()): Promise<Stats> {
  const since = new Date(now.getTime() - days * 86_400_000);
  since.setUTCHours(0, 0, 0, 0);
  const ids = repositoryIds.length ? repositoryIds : [-1];
  const inScope = and(
    inArray(sessions.repositoryId, ids),
    gte(sessions.createdAt, since),
    ne(sessions.threadKind, "warm"),
  );

  const sessionRows = await db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      status: sessions.status,
      reason: sessions.statusReason,
      prNumber: sessions.prNumber,
    })
    .from(sessions)
    .where(inScope);
  const promptRows = await db
    .select({
      sessionId: prompts.sessionId,
      createdAt: prompts.createdAt,
      author: prompts.authorLogin,
      sessionStatus: sessions.status,
    })
    .from(prompts)
    .innerJoin(sessions, eq(prompts.sessionId, sessions.id))
    .where(and(inArray(sessions.repositoryId, ids), gte(prompts.createdAt, since)));
  const prEvents = await db
    .select({ sessionId: events.sessionId, ts: events.ts })
    .from(events)
    .innerJoin(sessions, eq(events.sessionId, sessions.id))
    .where(and(inScope, eq(events.type, "pr.opened")));

  const byDay = new Map<string, { sessions: number; prompts: number }>();
  for (let i = 0; i <= days; i++) {
    const d = new Date(since.getTime() + i * 86_400_000);
    if (d > now) break;
    byDay.set(d.toISOString().slice(0, 10), { sessions: 0, prompts: 0 });
  }
  // A row dated after today (clock skew between replicas and the database) has no bar; it still counts in the totals.
  for (const s of sessionRows) {
    const bucket = byDay.get(s.createdAt.toISOString().slice(0, 10));
    if (bucket) bucket.sessions++;
  }
  for (const p of promptRows) {
    const bucket = byDay.get(p.createdAt.toISOString().slice(0, 10));
    if (bucket) bucket.prompts++;
  }

  // Active now: wrote a prompt in the last hour, or has a session working right now.
  const active = new Set<string>();
  for (const p of promptRows) {
    if (now.getTime() - p.createdAt.getTime() < ACTIVE_WINDOW_MS || ["starting", "running"].includes(p.sessionStatus))
      active.add(p.author);
  }

  const prsOpened = sessionRows.filter((s) => s.prNumber !== null).length;
  const prsMerged = sessionRows.filter((s) => s.status === "archived" && s.reason === "pull request merged").length;

  // Prompt → PR: from the session's first prompt to its pr.opened event.
  const firstPrompt = new Map<string, number>();
  for (const p of promptRows) {
    const t = p.createdAt.getTime();
    if (!firstPrompt.has(p.sessionId) || t < firstPrompt.get(p.sessionId)!) firstPrompt.set(p.sessionId, t);
  }
  const durations = prEvents
    .filter((e) => firstPrompt.has(e.sessionId))
    .map((e) => new Date(e.ts).getTime() - firstPrompt.get(e.sessionId)!)
    .filter((ms) => ms >= 0);

  return {
    days: [...byDay].map(([day, v]) => ({ day, ...v })),
    sessions: sessionRows.length,
    prompts: promptRows.length,
    activeUsersNow: active.size,
    prsOpened,
    prsMerged,
    mergeRate: prsOpened ? prsMerged / prsOpened : null,
    medianPromptToPrMs: median(durations),
  };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
