import type { Db } from "../db/client.js";
import { insertEvents, listEvents } from "../db/events.js";
import type { NewEvent, SessionEvent } from "../../protocol/events.js";
import type { SessionBus } from "./bus.js";

/** Persist, then announce. The database is the durable log; the bus fans out. */
export class EventLog {
  constructor(
    private readonly db: Db,
    private readonly bus: SessionBus,
  ) {}

  async append(sessionId: string, events: (NewEvent & { ts?: string })[]): Promise<SessionEvent[]> {
    const stored = await insertEvents(this.db, sessionId, events);
    if (stored.length) this.bus.emit(sessionId, stored);
    return stored;
  }

  list(sessionId: string, since = 0, limit?: number): Promise<SessionEvent[]> {
    return listEvents(this.db, sessionId, since, limit);
  }
}
