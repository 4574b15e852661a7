import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
import type { Db } from "./client.js";
import { isUniqueViolation } from "./errors.js";
import { oidcTokenUses, runs } from "./schema.js";

export type RunRow = typeof runs.$inferSelect;

export async function insertRun(db: Db, sessionId: string, claimTokenHash: string | null): Promise<RunRow> {
  const [row] = await db.insert(runs).values({ sessionId, claimTokenHash }).returning();
  return row!;
}

/** The run waiting to be claimed for a session, if any. */
export async function queuedRun(db: Db, sessionId: string): Promise<RunRow | undefined> {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.sessionId, sessionId), eq(runs.state, "queued")))
    .orderBy(desc(runs.id))
    .limit(1);
  return row;
}

/** What an Actions job's claim binds to the run: its workflow run, and its OIDC token (used once). */
export interface ClaimBinding {
  githubRunId: number;
  jti: string;
  tokenExpiresAt: Date;
}

export type ClaimOutcome =
  | { ok: true; run: RunRow }
  /** The run was claimed (or ended) meanwhile. */
  | { ok: false; reason: "taken" }
  /** The OIDC token's jti was already used. */
  | { ok: false; reason: "token_used" }
  /** That workflow run already claimed another run row. */
  | { ok: false; reason: "workflow_run_used" };

class Rollback extends Error {
  constructor(readonly outcome: ClaimOutcome) {
    super(outcome.ok ? "claimed" : outcome.reason);
  }
}

/**
 * Claim a queued run. With a `binding` (an Actions job), in one transaction: the token's jti is
 * recorded (refused when already there), and the run is marked claimed by that workflow run (refused
 * when the run already names another one, or when that workflow run claimed another run row). A
 * refusal records nothing.
 */
export async function markClaimed(
  db: Db,
  runId: number,
  tokenHash: string,
  runnerInfo: unknown,
  binding?: ClaimBinding,
): Promise<ClaimOutcome> {
  const now = new Date();
  const set = { state: "claimed", tokenHash, claimedAt: now, heartbeatAt: now, runnerInfo, claimTokenHash: null };
  if (!binding) {
    const [row] = await db
      .update(runs)
      .set(set)
      .where(and(eq(runs.id, runId), eq(runs.state, "queued")))
      .returning();
    return row ? { ok: true, run: row } : { ok: false, reason: "taken" };
  }
  try {
    return await db.transaction(async (tx) => {
      if (!(await spendOidcToken(tx, binding))) throw new Rollback({ ok: false, reason: "token_used" });
      const [row] = await tx
        .update(runs)
        .set({ ...set, githubRunId: binding.githubRunId })
        .where(
          and(
            eq(runs.id, runId),
            eq(runs.state, "queued"),
            or(isNull(runs.githubRunId), eq(runs.githubRunId, binding.githubRunId)),
          ),
        )
        .returning();
      if (!row) throw new Rollback({ ok: false, reason: "taken" });
      return { ok: true, run: row } as const;
    });
  } catch (err) {
    if (err instanceof Rollback) return err.outcome;
    if (isUniqueViolation(err, "runs_github_run_id")) return { ok: false, reason: "workflow_run_used" };
    throw err;
  }
}

/** The workflow run GitHub answered the dispatch with, recorded on the run row. */
export async function recordDispatchedRun(db: Db, runId: number, githubRunId: number): Promise<void> {
  await db
    .update(runs)
    .set({ githubRunId })
    .where(and(eq(runs.id, runId), isNull(runs.githubRunId)));
}

/** Whether an OIDC token (by jti) already claimed a session. */
export async function oidcTokenUsed(db: Db, jti: string): Promise<boolean> {
  const rows = await db
    .select({ jti: oidcTokenUses.jti })
    .from(oidcTokenUses)
    .where(eq(oidcTokenUses.jti, jti))
    .limit(1);
  return rows.length > 0;
}

/** Forget used tokens that have expired (an expired token is refused by its signature check anyway). */
export async function pruneOidcTokenUses(db: Db, now = new Date()): Promise<number> {
  const rows = await db
    .delete(oidcTokenUses)
    .where(lt(oidcTokenUses.expiresAt, now))
    .returning({ jti: oidcTokenUses.jti });
  return rows.length;
}

export async function findClaimedRun(db: Db, sessionId: string, tokenHash: string): Promise<RunRow | undefined> {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.sessionId, sessionId), eq(runs.tokenHash, tokenHash), eq(runs.state, "claimed")));
  return row;
}

export async function activeRun(db: Db, sessionId: string): Promise<RunRow | undefined> {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.sessionId, sessionId), or(eq(runs.state, "queued"), eq(runs.state, "claimed"))))
    .orderBy(desc(runs.id))
    .limit(1);
  return row;
}

export async function touchRun(db: Db, runId: number): Promise<void> {
  await db.update(runs).set({ heartbeatAt: new Date() }).where(eq(runs.id, runId));
}

export async function endRun(db: Db, runId: number, reason: string): Promise<RunRow | undefined> {
  const [row] = await db
    .update(runs)
    .set({ state: "ended", endedAt: new Date(), endReason: reason })
    .where(and(eq(runs.id, runId), isNull(runs.endedAt)))
    .returning();
  return row;
}

/** Claimed runs silent since `cutoff`, and queued runs never claimed since `cutoff`. */
export async function staleRuns(db: Db, heartbeatCutoff: Date, claimCutoff: Date): Promise<RunRow[]> {
  return db
    .select()
    .from(runs)
    .where(
      or(
        and(eq(runs.state, "claimed"), lt(runs.heartbeatAt, heartbeatCutoff)),
        and(eq(runs.state, "queued"), lt(runs.dispatchedAt, claimCutoff)),
      ),
    );
}

/** A session's latest runs, newest first. */
export async function recentRuns(db: Db, sessionId: string, limit: number): Promise<RunRow[]> {
  return db.select().from(runs).where(eq(runs.sessionId, sessionId)).orderBy(desc(runs.id)).limit(limit);
}

/** Runs that are waiting for or held by a runner, across sessions. */
export async function liveRuns(db: Db): Promise<RunRow[]> {
  return db
    .select()
    .from(runs)
    .where(or(eq(runs.state, "queued"), eq(runs.state, "claimed")));
}

/**
 * Record an OIDC token's jti as spent (in the claim's transaction): false when a claim — of a
 * session or a pool slot, on any replica — already spent it.
 */
export async function spendOidcToken(db: Db, binding: Pick<ClaimBinding, "jti" | "tokenExpiresAt">): Promise<boolean> {
  const spent = await db
    .insert(oidcTokenUses)
    .values({ jti: binding.jti, expiresAt: binding.tokenExpiresAt })
    .onConflictDoNothing()
    .returning({ jti: oidcTokenUses.jti });
  return spent.length > 0;
}
