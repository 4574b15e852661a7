import { and, asc, desc, eq, gt, sql } from "drizzle-orm";
import type { NewEvent, SessionEvent } from "../../protocol/events.js";
import type { Db } from "./client.js";
import { events, sessions } from "./schema.js";

/**
 * Persist events with the next sequence numbers of their session. The counter
 * lives on the session row, so concurrent appenders serialise on its row lock
 * and `seq` stays gap-free and monotonic across replicas.
 */
export async function insertEvents(
  db: Db,
  sessionId: string,
  batch: (NewEvent & { ts?: string })[],
): Promise<SessionEvent[]> {
  if (batch.length === 0) return [];
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(sessions)
      .set({ lastSeq: sql`${sessions.lastSeq} + ${batch.length}`, updatedAt: new Date() })
      .where(eq(sessions.id, sessionId))
      .returning({ lastSeq: sessions.lastSeq });
    if (!row) throw new Error(`session ${sessionId} not found`);
    const first = row.lastSeq - batch.length + 1;
    const now = new Date().toISOString();
    const stored = batch.map(
      (e, i) => ({ seq: first + i, ts: e.ts ?? now, type: e.type, data: e.data }) as SessionEvent,
    );
    await tx
      .insert(events)
      .values(stored.map((e) => ({ sessionId, seq: e.seq, ts: e.ts, type: e.type, data: e.data })));
    return stored;
  });
}

export async function listEvents(db: Db, sessionId: string, since = 0, limit = 5_000): Promise<SessionEvent[]> {
  const rows = await db
    .select()
    .from(events)
    .where(and(eq(events.sessionId, sessionId), gt(events.seq, since)))
    .orderBy(asc(events.seq))
    .limit(limit);
  return rows.map(
    (r) => ({ seq: r.seq, ts: new Date(r.ts).toISOString(), type: r.type, data: r.data }) as SessionEvent,
  );
}

/** The newest event of a kind (e.g. the tool the agent is running now). */
export async function lastEventOfType(db: Db, sessionId: string, type: string): Promise<SessionEvent | undefined> {
  const [r] = await db
    .select()
    .from(events)
    .where(and(eq(events.sessionId, sessionId), eq(events.type, type)))
    .orderBy(desc(events.seq))
    .limit(1);
  return r ? ({ seq: r.seq, ts: new Date(r.ts).toISOString(), type: r.type, data: r.data } as SessionEvent) : undefined;
}
