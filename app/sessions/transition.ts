import type { Db } from "../db/client.js";
import { getSession, updateStatusIf, type SessionRow } from "../db/sessions.js";
import type { SessionStatus } from "../../protocol/events.js";
import type { EventLog } from "./event-log.js";
import { sourcesOf, TransitionError } from "./state.js";

/**
 * The one function that changes a session's status: a compare-and-set on the
 * allowed source states, then a `session.status` event in the log.
 * Returns undefined when the session is not in a state that may move to `to`.
 */
export async function tryTransition(
  deps: { db: Db; events: EventLog },
  sessionId: string,
  to: SessionStatus,
  reason?: string,
): Promise<SessionRow | undefined> {
  const row = await updateStatusIf(deps.db, sessionId, sourcesOf(to), to, reason ?? null);
  if (!row) return undefined;
  await deps.events.append(sessionId, [
    { type: "session.status", data: reason ? { status: to, reason } : { status: to } },
  ]);
  return row;
}

/** As tryTransition, but an illegal move is an error. */
export async function transition(
  deps: { db: Db; events: EventLog },
  sessionId: string,
  to: SessionStatus,
  reason?: string,
): Promise<SessionRow> {
  const row = await tryTransition(deps, sessionId, to, reason);
  if (row) return row;
  const current = await getSession(deps.db, sessionId);
  throw new TransitionError(current?.status, to);
}
