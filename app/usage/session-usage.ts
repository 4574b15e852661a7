/** A session's usage: the sum of its prompts' (one source of truth: prompts.usage, as the runner reported it). */
import { eq, inArray } from "drizzle-orm";
import { Usage } from "../../protocol/events.js";
import { sumUsage, type UsageTotal } from "../../protocol/usage.js";
import { familyOf, rootOf } from "../children/queries.js";
import type { Db } from "../db/client.js";
import type { SessionRow } from "../db/sessions.js";
import { prompts } from "../db/schema.js";

/** A stored usage, or null when there is none or it is not of today's shape (rows from before usage was typed). */
export function storedUsage(raw: unknown): Usage | null {
  if (raw === null || raw === undefined) return null;
  const parsed = Usage.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export async function sessionUsage(db: Db, sessionId: string): Promise<UsageTotal> {
  const rows = await db.select({ usage: prompts.usage }).from(prompts).where(eq(prompts.sessionId, sessionId));
  return sumUsage(rows.map((r) => storedUsage(r.usage)));
}

/**
 * What counts against a session's budget: the spend of the person's session it belongs to and of
 * every child session below that one (a parent's budget covers the children it spawns, and theirs).
 */
export async function budgetUsage(db: Db, session: Pick<SessionRow, "id" | "parentSessionId">): Promise<UsageTotal> {
  const family = await familyOf(db, await rootOf(db, session));
  const rows = await db.select({ usage: prompts.usage }).from(prompts).where(inArray(prompts.sessionId, family));
  return sumUsage(rows.map((r) => storedUsage(r.usage)));
}
