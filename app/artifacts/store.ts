/** Session artifacts in the database (table `artifacts`). */
import { and, asc, count, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { artifacts } from "../db/schema.js";

export type ArtifactRow = typeof artifacts.$inferSelect;

export async function insertArtifact(
  db: Db,
  values: { sessionId: string; name: string; contentType: string; data: string; size: number },
): Promise<ArtifactRow> {
  const [row] = await db.insert(artifacts).values(values).returning();
  return row!;
}

export async function getArtifact(db: Db, sessionId: string, id: number): Promise<ArtifactRow | undefined> {
  const [row] = await db
    .select()
    .from(artifacts)
    .where(and(eq(artifacts.sessionId, sessionId), eq(artifacts.id, id)));
  return row;
}

export async function countArtifacts(db: Db, sessionId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(artifacts).where(eq(artifacts.sessionId, sessionId));
  return row?.n ?? 0;
}

/** Names and ids, oldest first, without the files (the PR body links them). */
export function listArtifacts(db: Db, sessionId: string): Promise<{ id: number; name: string }[]> {
  return db
    .select({ id: artifacts.id, name: artifacts.name })
    .from(artifacts)
    .where(eq(artifacts.sessionId, sessionId))
    .orderBy(asc(artifacts.id));
}
