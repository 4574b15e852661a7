/** What the session page hands its script (embedded as JSON in the page). */
import type { SessionStatus } from "../../protocol/events.js";

export interface SessionBoot {
  sessionId: string;
  status: SessionStatus;
  viewer: { login: string; avatarUrl: string | null };
  canWrite: boolean;
  /** Poll the API instead of the room (no room server configured). */
  roomAvailable: boolean;
  /** The repository on GitHub, for commit links; null for a repository on this machine. */
  repoUrl: string | null;
}
