/**
 * The webhook inbox's table. A delivery is stored once (its id is GitHub's), taken by one worker at
 * a time under a lease, and only ever the oldest open delivery of its thread can be taken, so a
 * thread's deliveries run in the order they were received — on any replica. Times are the
 * database's (`now()`), so replicas with skewed clocks agree on leases.
 */
import { and, asc, eq, isNotNull, isNull, lt, notExists, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "./client.js";
import { webhookDeliveries as d } from "./schema.js";

export type DeliveryRow = typeof d.$inferSelect;

export interface NewDelivery {
  id: string;
  event: string;
  payload: unknown;
  threadKey: string | null;
  /** When it reached the server; the database's now() if not given. */
  receivedAt?: Date;
}

const open = () => and(isNull(d.doneAt), isNull(d.failedAt));
const free = () => or(isNull(d.lockedUntil), lt(d.lockedUntil, sql`now()`));
const ms = (n: number) => sql`now() + ${Math.max(0, Math.round(n))} * interval '1 millisecond'`;

/**
 * Store a delivery; true when it is new (or a given-up one GitHub sent again, which starts over),
 * false for a redelivery of one already stored.
 */
export async function storeDelivery(db: Db, delivery: NewDelivery): Promise<boolean> {
  const rows = await db
    .insert(d)
    .values({ ...delivery, payload: delivery.payload as object })
    .onConflictDoUpdate({
      target: d.id,
      set: { failedAt: null, attempts: 0, lockedUntil: null, lastError: null },
      where: isNotNull(d.failedAt),
    })
    .returning({ id: d.id });
  return rows.length === 1;
}

/** Another open delivery of the same thread, received earlier (a later one must wait for it). */
function noEarlierOpen(db: Db) {
  const e = alias(d, "earlier");
  return notExists(
    db
      .select({ one: sql`1` })
      .from(e)
      .where(
        and(
          eq(e.threadKey, d.threadKey),
          isNull(e.doneAt),
          isNull(e.failedAt),
          or(lt(e.receivedAt, d.receivedAt), and(eq(e.receivedAt, d.receivedAt), lt(e.id, d.id))),
        ),
      ),
  );
}

/**
 * Take a delivery for `owner` for `leaseMs`, counting the attempt: only if it is open, nobody
 * holds it, it is not waiting out a backoff, and it is the oldest open one of its thread.
 */
export async function takeDelivery(db: Db, id: string, owner: string, leaseMs: number): Promise<DeliveryRow | null> {
  const [row] = await db
    .update(d)
    .set({ lockedBy: owner, lockedUntil: ms(leaseMs), attempts: sql`${d.attempts} + 1` })
    .where(and(eq(d.id, id), open(), free(), noEarlierOpen(db)))
    .returning();
  return row ?? null;
}

/** The oldest open delivery of a thread, taken or not. */
export async function oldestOpen(db: Db, threadKey: string): Promise<{ id: string; receivedAt: Date } | null> {
  const [row] = await db
    .select({ id: d.id, receivedAt: d.receivedAt })
    .from(d)
    .where(and(eq(d.threadKey, threadKey), open()))
    .orderBy(asc(d.receivedAt), asc(d.id))
    .limit(1);
  return row ?? null;
}

/** Deliveries that could be taken now: open, free, first of their thread; oldest first. */
export async function dueDeliveries(db: Db, limit: number): Promise<{ id: string; threadKey: string | null }[]> {
  return db
    .select({ id: d.id, threadKey: d.threadKey })
    .from(d)
    .where(and(open(), free(), noEarlierOpen(db)))
    .orderBy(asc(d.receivedAt), asc(d.id))
    .limit(limit);
}

/** Keep holding a delivery while its work goes on; false when the lease was lost. */
export async function renewLease(db: Db, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const rows = await db
    .update(d)
    .set({ lockedUntil: ms(leaseMs) })
    .where(and(eq(d.id, id), eq(d.lockedBy, owner), open()))
    .returning({ id: d.id });
  return rows.length === 1;
}

/** Every lease, whoever holds it: for a database only this process can open (PGlite). */
export async function releaseLeases(db: Db): Promise<number> {
  const rows = await db
    .update(d)
    .set({ lockedBy: null, lockedUntil: null })
    .where(and(isNotNull(d.lockedBy), open()))
    .returning({ id: d.id });
  return rows.length;
}

export async function markDone(db: Db, id: string): Promise<void> {
  await db
    .update(d)
    .set({ doneAt: sql`now()`, lockedBy: null, lockedUntil: null })
    .where(eq(d.id, id));
}

/** A failed attempt: try again after `retryInMs`, or give up (it stops holding its thread back). */
export async function markFailed(
  db: Db,
  id: string,
  error: string,
  next: { retryInMs: number } | "give up",
): Promise<void> {
  const lastError = error.slice(0, 2_000);
  await db
    .update(d)
    .set(
      next === "give up"
        ? { failedAt: sql`now()`, lockedBy: null, lockedUntil: null, lastError }
        : { lockedBy: null, lockedUntil: ms(next.retryInMs), lastError },
    )
    .where(and(eq(d.id, id), open()));
}

export async function getDelivery(db: Db, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await db.select().from(d).where(eq(d.id, id));
  return row;
}

/** GitHub redelivers for at most a few days: finished deliveries older than that can go. */
export async function pruneDeliveries(db: Db, olderThan: Date): Promise<void> {
  await db.delete(d).where(and(lt(d.receivedAt, olderThan), or(isNotNull(d.doneAt), isNotNull(d.failedAt))));
}
