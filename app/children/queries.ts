/** The family tree of sessions: who spawned whom (sessions.parent_session_id). */
import { asc, eq, inArray, and, count } from "drizzle-orm";
import { ACTIVE_STATUSES } from "../../protocol/events.js";
import type { Db } from "../db/client.js";
import { sessions } from "../db/schema.js";
import type { SessionRow } from "../db/sessions.js";

export function listChildren(db: Db, parentId: string): Promise<SessionRow[]> {
  return db.select().from(sessions).where(eq(sessions.parentSessionId, parentId)).orderBy(asc(sessions.createdAt));
}

export async function countChildren(db: Db, parentId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(sessions).where(eq(sessions.parentSessionId, parentId));
  return row?.n ?? 0;
}

export function activeChildren(db: Db, parentId: string): Promise<SessionRow[]> {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.parentSessionId, parentId), inArray(sessions.status, [...ACTIVE_STATUSES])));
}

/** Bounds the walks below: a chain is never deeper than INSPECT_CHILD_DEPTH, so a cycle cannot hang them. */
const MAX_WALK = 50;

/** The sessions above a session, its parent first, up to the person's session it descends from. */
async function ancestors(db: Db, session: Pick<SessionRow, "parentSessionId">): Promise<string[]> {
  const chain: string[] = [];
  let parent = session.parentSessionId;
  while (parent && chain.length < MAX_WALK) {
    chain.push(parent);
    const [row] = await db.select({ parent: sessions.parentSessionId }).from(sessions).where(eq(sessions.id, parent));
    parent = row?.parent ?? null;
  }
  return chain;
}

/** How many sessions up the chain a person's session is: 0 for a person's own. */
export async function depthOf(db: Db, session: Pick<SessionRow, "parentSessionId">): Promise<number> {
  return (await ancestors(db, session)).length;
}

/** The person's session a session descends from (itself when it is one). */
export async function rootOf(db: Db, session: Pick<SessionRow, "id" | "parentSessionId">): Promise<string> {
  return (await ancestors(db, session)).at(-1) ?? session.id;
}

/** A session and every session below it (children, their children, …), the session first. */
export async function familyOf(db: Db, rootId: string): Promise<string[]> {
  const family = [rootId];
  let level = [rootId];
  for (let depth = 0; level.length && depth < MAX_WALK; depth++) {
    const rows = await db.select({ id: sessions.id }).from(sessions).where(inArray(sessions.parentSessionId, level));
    level = rows.map((r) => r.id).filter((id) => !family.includes(id));
    family.push(...level);
  }
  return family;
}
