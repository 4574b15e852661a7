/** A session's usage: the sum of its prompts' (one source of truth: prompts.usage, as the runner reported it). */
import { eq, inArray } from "drizzle-orm";
import { Usage } from "../../protocol/events.js";
import { sumUsage, type UsageTotal } from "../../protocol/usage.js";
import type { Db } from "../db/client.js";
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

/** Per session, for many at once. */
export async function sessionsUsage(db: Db, sessionIds: string[]): Promise<Map<string, UsageTotal>> {
  const out = new Map<string, UsageTotal>();
  if (sessionIds.length === 0) return out;
  const rows = await db
    .select({ sessionId: prompts.sessionId, usage: prompts.usage })
    .from(prompts)
    .where(inArray(prompts.sessionId, sessionIds));
  const by = new Map<string, (Usage | null)[]>();
  for (const r of rows) by.set(r.sessionId, [...(by.get(r.sessionId) ?? []), storedUsage(r.usage)]);
  for (const [id, list] of by) out.set(id, sumUsage(list));
  return out;
}
