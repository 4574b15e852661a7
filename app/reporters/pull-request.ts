/**
 * The session's pull request (app/github/pull-requests.ts): opened at the first push; its body
 * refreshed when a turn ends, and when a screenshot is stored (the runtime uploads it within a
 * second, so the turn's last one can land after the turn ended). A PR that could not be opened at the push (GitHub down, say) is
 * tried again when the turn ends.
 */
import type { PullRequests } from "../github/pull-requests.js";
import type { Reporter } from "./reporter.js";

export function pullRequestReporter(pulls: PullRequests): Reporter {
  return {
    name: "pull request",
    pushed: (sessionId) => pulls.ensureOpened(sessionId),
    on: {
      "prompt.finished": async (sessionId) => {
        await pulls.ensureOpened(sessionId);
        await pulls.refreshBody(sessionId);
      },
      "artifact.added": (sessionId) => pulls.refreshBody(sessionId),
    },
  };
}
