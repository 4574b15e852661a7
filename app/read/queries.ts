/**
 * The read side of the control plane: the queries behind the web's pages, answering
 * with the view models the web declares (web/deps.ts), never table rows.
 */
import { desc, eq, ne } from "drizzle-orm";
import type { RepositoryView, SessionListItem, SessionView } from "../../web/deps.js";
import { findRepositoryByFullName, getRepository, type RepositoryRow } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { repositories, sessions, users } from "../db/schema.js";
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
    parentSessionId: s.parentSessionId,
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
