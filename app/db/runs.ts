import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
import type { Db } from "./client.js";
import { runs } from "./schema.js";

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

export async function markClaimed(db: Db, runId: number, tokenHash: string, runnerInfo: unknown): Promise<RunRow | undefined> {
  const now = new Date();
  const [row] = await db
    .update(runs)
    .set({ state: "claimed", tokenHash, claimedAt: now, heartbeatAt: now, runnerInfo, claimTokenHash: null })
    .where(and(eq(runs.id, runId), eq(runs.state, "queued")))
    .returning();
  return row;
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
