import { and, asc, eq, gte, inArray } from "drizzle-orm";
import type { PromptSource } from "../../protocol/events.js";
import type { Db } from "./client.js";
import { prompts, type PromptStatus } from "./schema.js";

export type PromptRow = typeof prompts.$inferSelect;
export type NewPromptRow = typeof prompts.$inferInsert;

export async function insertPrompt(db: Db, values: NewPromptRow): Promise<PromptRow> {
  const [row] = await db.insert(prompts).values(values).returning();
  return row!;
}

export async function getPrompt(db: Db, id: number): Promise<PromptRow | undefined> {
  const [row] = await db.select().from(prompts).where(eq(prompts.id, id));
  return row;
}

export async function listPrompts(db: Db, sessionId: string): Promise<PromptRow[]> {
  return db.select().from(prompts).where(eq(prompts.sessionId, sessionId)).orderBy(asc(prompts.id));
}

export async function runningPrompt(db: Db, sessionId: string): Promise<PromptRow | undefined> {
  const [row] = await db
    .select()
    .from(prompts)
    .where(and(eq(prompts.sessionId, sessionId), eq(prompts.status, "running")))
    .limit(1);
  return row;
}

export async function hasQueuedPrompt(db: Db, sessionId: string): Promise<boolean> {
  const rows = await db
    .select({ id: prompts.id })
    .from(prompts)
    .where(and(eq(prompts.sessionId, sessionId), eq(prompts.status, "queued")))
    .limit(1);
  return rows.length > 0;
}

/** Whether the session has a prompt from one of `sources` that is still waiting or running. */
export async function hasOpenPromptFrom(db: Db, sessionId: string, sources: readonly PromptSource[]): Promise<boolean> {
  const rows = await db
    .select({ id: prompts.id })
    .from(prompts)
    .where(
      and(
        eq(prompts.sessionId, sessionId),
        inArray(prompts.source, [...sources]),
        inArray(prompts.status, ["queued", "running"]),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

/** Take the oldest queued prompt and mark it running; undefined when none is waiting. */
export async function takeNextPrompt(db: Db, sessionId: string): Promise<PromptRow | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [next] = await db
      .select({ id: prompts.id })
      .from(prompts)
      .where(and(eq(prompts.sessionId, sessionId), eq(prompts.status, "queued")))
      .orderBy(asc(prompts.id))
      .limit(1);
    if (!next) return undefined;
    const [taken] = await db
      .update(prompts)
      .set({ status: "running", startedAt: new Date() })
      .where(and(eq(prompts.id, next.id), eq(prompts.status, "queued")))
      .returning();
    if (taken) return taken;
  }
  return undefined;
}

/**
 * Patch a prompt of this session if its status is one of `from`. The session is part of the
 * condition: a prompt id from another session matches nothing (a runner can only touch its own).
 */
export async function updatePromptIf(
  db: Db,
  sessionId: string,
  id: number,
  from: PromptStatus[],
  patch: Partial<NewPromptRow>,
): Promise<PromptRow | undefined> {
  const [row] = await db
    .update(prompts)
    .set(patch)
    .where(and(eq(prompts.id, id), eq(prompts.sessionId, sessionId), inArray(prompts.status, from)))
    .returning();
  return row;
}

/**
 * The prompt a GitHub request already became, if it did: its comment's, or (no comment) the same
 * author's from the same source since the request arrived. A webhook taken again after a crash
 * finds its prompt here instead of queueing it twice.
 */
export async function promptFromRequest(
  db: Db,
  sessionId: string,
  req: { commentId: number | null; source: PromptSource; authorLogin: string; since: Date },
): Promise<PromptRow | undefined> {
  const [row] = await db
    .select()
    .from(prompts)
    .where(
      and(
        eq(prompts.sessionId, sessionId),
        req.commentId !== null
          ? eq(prompts.commentId, req.commentId)
          : and(
              eq(prompts.source, req.source),
              eq(prompts.authorLogin, req.authorLogin),
              gte(prompts.createdAt, req.since),
            ),
      ),
    )
    .limit(1);
  return row;
}
