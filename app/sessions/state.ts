/**
 * The session state machine. `transition` (in transition.ts) is the only
 * place a session's status changes; this file holds the rules as plain data.
 */
import { ACTIVE_STATUSES, type SessionStatus } from "../../protocol/events.js";

const allowed: Record<SessionStatus, readonly SessionStatus[]> = {
  queued: ["starting", "failed", "stopped", "archived"],
  starting: ["running", "idle", "failed", "stopped", "archived"],
  running: ["idle", "failed", "stopped", "archived"],
  idle: ["running", "completed", "failed", "stopped", "archived"],
  // A follow-up after the runner exited starts a new run on the same branch.
  completed: ["queued", "archived"],
  failed: ["queued", "archived"],
  stopped: ["queued", "archived"],
  archived: [],
};

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return allowed[from].includes(to);
}

/** The states from which `to` may be entered. */
export function sourcesOf(to: SessionStatus): SessionStatus[] {
  return (Object.keys(allowed) as SessionStatus[]).filter((from) => allowed[from].includes(to));
}

export function isActive(status: SessionStatus): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

/** How a prompt's turn ended, for those that ran to an end. */
export type TurnOutcome = "done" | "failed" | "stopped";

/**
 * How the session's last finished turn ended (null before any): the structured fact that an idle
 * session is waiting after a failure rather than after work done. Prompts in the order they ran.
 */
export function lastTurn(prompts: readonly { status: string }[]): TurnOutcome | null {
  for (let i = prompts.length - 1; i >= 0; i--) {
    const s = prompts[i]!.status;
    if (s === "done" || s === "failed" || s === "stopped") return s;
  }
  return null;
}

export class TransitionError extends Error {
  constructor(
    readonly from: SessionStatus | undefined,
    readonly to: SessionStatus,
  ) {
    super(from ? `session cannot go from ${from} to ${to}` : `session not found (to ${to})`);
    this.name = "TransitionError";
  }
}
