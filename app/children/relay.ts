/**
 * Keeps parents and children in step, from the session bus: a child's status change or PR
 * becomes a `child.updated` event in its parent's log (the parent's page lists its children
 * live from these), and a parent stopped or archived stops its running children (theirs in
 * turn, as their own `stopped` events come by).
 */
import { getRepository } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import type { SessionBus } from "../sessions/bus.js";
import type { EventLog } from "../sessions/event-log.js";
import type { SessionService } from "../sessions/service.js";
import { BoundedMap } from "../util/bounded-map.js";
import type { BackgroundTasks } from "../util/tasks.js";
import type { SessionEvent } from "../../protocol/events.js";
import { activeChildren } from "./queries.js";

export interface RelayDeps {
  db: Db;
  bus: SessionBus;
  events: EventLog;
  sessions: SessionService;
  tasks: Pick<BackgroundTasks, "run">;
}

/** Starts relaying; returns the unsubscribe. */
export function relayChildren(d: RelayDeps): () => void {
  // A session's parent never changes once it is created: remembered, not asked on every event.
  const parents = new BoundedMap<string, string | null>(10_000);
  const parentOf = async (sessionId: string) => {
    if (!parents.has(sessionId)) parents.set(sessionId, (await d.sessions.get(sessionId))?.parentSessionId ?? null);
    return parents.get(sessionId) ?? null;
  };

  const tellParent = async (childId: string) => {
    const parentId = await parentOf(childId);
    if (!parentId) return;
    const child = await d.sessions.get(childId);
    if (!child) return;
    const repo = await getRepository(d.db, child.repositoryId);
    await d.events.append(parentId, [
      {
        type: "child.updated",
        data: {
          sessionId: child.id,
          title: child.title,
          repository: repo?.fullName ?? "",
          status: child.status,
          prUrl: child.prUrl,
          prNumber: child.prNumber,
        },
      },
    ]);
  };

  const stopChildren = async (parentId: string, how: string) => {
    for (const child of await activeChildren(d.db, parentId))
      await d.sessions.stop(child.id, "inspect", `its parent session ${parentId} was ${how}`);
  };

  return d.bus.on((sessionId: string, events: SessionEvent[]) => {
    const changed = events.some((e) => e.type === "session.status" || e.type === "pr.opened");
    if (changed) d.tasks.run(`tell the parent of ${sessionId}`, () => tellParent(sessionId));
    const ended = events.find((e) => e.type === "session.status" && ["stopped", "archived"].includes(e.data.status));
    if (ended?.type === "session.status")
      d.tasks.run(`stop the children of ${sessionId}`, () => stopChildren(sessionId, ended.data.status));
  });
}
