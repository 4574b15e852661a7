/**
 * The rows the stats are computed from, read for a window: sessions started in it (in the
 * given repositories; warm sandboxes are not sessions), their prompts with usage, and the
 * events that date their pull requests (pr.opened; the archive a merge or close webhook causes).
 */
import { and, eq, gte, inArray, ne } from "drizzle-orm";
import type { SessionStatus, Usage } from "../../protocol/events.js";
import type { Db } from "../db/client.js";
import { events, prompts, repositories, sessions, users } from "../db/schema.js";
import { storedUsage } from "../usage/session-usage.js";

interface HistorySession {
  id: string;
  repository: string;
  createdBy: string | null;
  createdAt: Date;
  status: SessionStatus;
  prNumber: number | null;
  prOpenedAt: Date | null;
  /** When the merge (or close) webhook archived it. */
  prMergedAt: Date | null;
  prClosedAt: Date | null;
}

interface HistoryPrompt {
  sessionId: string;
  author: string;
  createdAt: Date;
  usage: Usage | null;
}

export interface History {
  sessions: HistorySession[];
  prompts: HistoryPrompt[];
}

/** The archive reasons a pull_request closed webhook gives (app/github/intake.ts). */
const MERGED = "pull request merged";
const CLOSED = "pull request closed";

export async function loadHistory(db: Db, repositoryIds: number[], since: Date): Promise<History> {
  if (repositoryIds.length === 0) return { sessions: [], prompts: [] };
  const inScope = and(
    inArray(sessions.repositoryId, repositoryIds),
    gte(sessions.createdAt, since),
    ne(sessions.threadKind, "warm"),
  );
  const rows = await db
    .select({
      id: sessions.id,
      repository: repositories.fullName,
      createdBy: users.login,
      createdAt: sessions.createdAt,
      status: sessions.status,
      statusReason: sessions.statusReason,
      updatedAt: sessions.updatedAt,
      prNumber: sessions.prNumber,
    })
    .from(sessions)
    .innerJoin(repositories, eq(sessions.repositoryId, repositories.id))
    .leftJoin(users, eq(sessions.createdByUserId, users.id))
    .where(inScope);
  const ids = rows.map((r) => r.id);
  if (ids.length === 0) return { sessions: [], prompts: [] };

  const promptRows = await db
    .select({
      sessionId: prompts.sessionId,
      author: prompts.authorLogin,
      createdAt: prompts.createdAt,
      usage: prompts.usage,
    })
    .from(prompts)
    .where(inArray(prompts.sessionId, ids));
  const lifecycle = await db
    .select({ sessionId: events.sessionId, ts: events.ts, type: events.type, data: events.data })
    .from(events)
    .where(and(inArray(events.sessionId, ids), inArray(events.type, ["pr.opened", "session.status"])));

  const opened = new Map<string, Date>();
  const decided = new Map<string, { at: Date; merged: boolean }>();
  for (const e of lifecycle) {
    const at = new Date(e.ts);
    if (e.type === "pr.opened") {
      if (!opened.has(e.sessionId)) opened.set(e.sessionId, at);
      continue;
    }
    const reason = (e.data as { status?: string; reason?: string }).reason;
    if (reason === MERGED || reason === CLOSED) decided.set(e.sessionId, { at, merged: reason === MERGED });
  }
  return {
    sessions: rows.map(({ statusReason, updatedAt, ...r }) => {
      // The archive's event dates it; a row archived without one (imported, or written by hand) by its last update.
      const d =
        decided.get(r.id) ??
        (r.status === "archived" && (statusReason === MERGED || statusReason === CLOSED)
          ? { at: updatedAt, merged: statusReason === MERGED }
          : undefined);
      return {
        ...r,
        prOpenedAt: opened.get(r.id) ?? null,
        prMergedAt: d?.merged ? d.at : null,
        prClosedAt: d && !d.merged ? d.at : null,
      };
    }),
    prompts: promptRows.map((p) => ({ ...p, usage: storedUsage(p.usage) })),
  };
}
