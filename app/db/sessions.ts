import { and, desc, eq, exists, gt, inArray, isNull, lt, ne, notExists, or, sql, type SQL } from "drizzle-orm";
import { ACTIVE_STATUSES, type SessionStatus } from "../../protocol/events.js";
import type { Db } from "./client.js";
import { prompts, runs, sessions } from "./schema.js";

export type SessionRow = typeof sessions.$inferSelect;
export type NewSessionRow = typeof sessions.$inferInsert;

export async function insertSession(db: Db, values: NewSessionRow): Promise<SessionRow> {
  const [row] = await db.insert(sessions).values(values).returning();
  return row!;
}

export async function getSession(db: Db, id: string): Promise<SessionRow | undefined> {
  const [row] = await db.select().from(sessions).where(eq(sessions.id, id));
  return row;
}

/** The newest session of a repository that is not archived and matches `where`. */
async function newestLive(db: Db, repositoryId: number, where: SQL): Promise<SessionRow | undefined> {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.repositoryId, repositoryId), where, ne(sessions.status, "archived")))
    .orderBy(desc(sessions.createdAt))
    .limit(1);
  return row;
}

/** The thread's current session: the newest one that is not archived. */
export function findThreadSession(
  db: Db,
  repositoryId: number,
  threadKind: string,
  threadNumber: number,
): Promise<SessionRow | undefined> {
  return newestLive(
    db,
    repositoryId,
    and(eq(sessions.threadKind, threadKind), eq(sessions.threadNumber, threadNumber))!,
  );
}

/** The session that opened this PR (it owns the PR's thread). */
export function findSessionByPullRequest(
  db: Db,
  repositoryId: number,
  prNumber: number,
): Promise<SessionRow | undefined> {
  return newestLive(db, repositoryId, eq(sessions.prNumber, prNumber));
}

/** The live session working on this branch, if any (newest first). */
export function findSessionByHeadBranch(
  db: Db,
  repositoryId: number,
  headBranch: string,
): Promise<SessionRow | undefined> {
  return newestLive(db, repositoryId, eq(sessions.headBranch, headBranch));
}

export async function updateSession(
  db: Db,
  id: string,
  patch: Partial<NewSessionRow>,
): Promise<SessionRow | undefined> {
  const [row] = await db
    .update(sessions)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(sessions.id, id))
    .returning();
  return row;
}

/** Compare-and-set on status: only changes a session currently in one of `from`. */
export async function updateStatusIf(
  db: Db,
  id: string,
  from: SessionStatus[],
  to: SessionStatus,
  reason: string | null,
): Promise<SessionRow | undefined> {
  const [row] = await db
    .update(sessions)
    .set({ status: to, statusReason: reason, updatedAt: new Date() })
    .where(and(eq(sessions.id, id), inArray(sessions.status, from)))
    .returning();
  return row;
}

/** Sessions people started (warm sandboxes that no prompt has adopted are not listed). */
export async function listSessions(
  db: Db,
  opts: { limit?: number; repositoryIds?: number[] } = {},
): Promise<SessionRow[]> {
  const started = ne(sessions.threadKind, "warm");
  const where = opts.repositoryIds
    ? and(started, inArray(sessions.repositoryId, opts.repositoryIds.length ? opts.repositoryIds : [-1]))
    : started;
  return db
    .select()
    .from(sessions)
    .where(where)
    .orderBy(desc(sessions.createdAt))
    .limit(opts.limit ?? 100);
}

/** Claim the right to open this session's PR (one replica, one request at a time). */
export async function claimPullRequestOpening(db: Db, id: string, staleAfterMs = 120_000): Promise<boolean> {
  const stale = new Date(Date.now() - staleAfterMs);
  const rows = await db
    .update(sessions)
    .set({ prClaimedAt: new Date() })
    .where(
      and(
        eq(sessions.id, id),
        isNull(sessions.prNumber),
        or(isNull(sessions.prClaimedAt), lt(sessions.prClaimedAt, stale)),
      ),
    )
    .returning({ id: sessions.id });
  return rows.length === 1;
}

/**
 * Claim creating the next check run of a session: for head commit `sha`, after run `after`
 * (null: the first), as this replica read them. One replica wins; one that read an older state
 * loses; a claim not followed through (its replica died) can be taken over after `staleAfterMs`.
 */
export async function claimCheckRunCreation(
  db: Db,
  id: string,
  sha: string,
  after: number | null,
  staleAfterMs = 120_000,
): Promise<boolean> {
  const claim = `${sha}:${after ?? 0}`;
  const stale = new Date(Date.now() - staleAfterMs);
  const rows = await db
    .update(sessions)
    .set({ checkRunClaim: claim, checkRunClaimedAt: new Date() })
    .where(
      and(
        eq(sessions.id, id),
        eq(sessions.headSha, sha),
        after === null ? isNull(sessions.checkRunId) : eq(sessions.checkRunId, after),
        or(isNull(sessions.checkRunClaim), ne(sessions.checkRunClaim, claim), lt(sessions.checkRunClaimedAt, stale)),
      ),
    )
    .returning({ id: sessions.id });
  return rows.length === 1;
}

export async function findSessionByCheckRun(
  db: Db,
  repositoryId: number,
  checkRunId: number,
): Promise<SessionRow | undefined> {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.repositoryId, repositoryId), eq(sessions.checkRunId, checkRunId)))
    .limit(1);
  return row;
}

/** A warm session (runner dispatched, no prompt yet) this user made for this repository, still alive. */
export async function findUnusedWarmSession(
  db: Db,
  userId: number,
  repositoryId: number,
  since: Date,
): Promise<SessionRow | undefined> {
  const [row] = await db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.threadKind, "warm"),
        eq(sessions.createdByUserId, userId),
        eq(sessions.repositoryId, repositoryId),
        inArray(sessions.status, ["queued", "starting", "idle"]),
        gt(sessions.createdAt, since),
      ),
    )
    .orderBy(desc(sessions.createdAt))
    .limit(1);
  return row;
}

/**
 * Sessions that break the rule "an active session has a live run, and queued prompts get one":
 * active without a queued or claimed run, or ended (not archived) with a prompt still queued
 * and no run. The sweep that repairs them is SessionService.ensureRun.
 */
export async function sessionsWithoutRun(db: Db, limit = 100): Promise<string[]> {
  const rows = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(
      and(
        or(
          inArray(sessions.status, [...ACTIVE_STATUSES]),
          and(
            inArray(sessions.status, ["completed", "failed", "stopped"]),
            exists(
              db
                .select({ one: sql`1` })
                .from(prompts)
                .where(and(eq(prompts.sessionId, sessions.id), eq(prompts.status, "queued"))),
            ),
          ),
        ),
        notExists(
          db
            .select({ one: sql`1` })
            .from(runs)
            .where(and(eq(runs.sessionId, sessions.id), inArray(runs.state, ["queued", "claimed"]))),
        ),
      ),
    )
    .limit(limit);
  return rows.map((r) => r.id);
}
