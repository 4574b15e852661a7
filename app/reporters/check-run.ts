/** The "Inspect" check run on the session's head commit (app/github/check-runs.ts), kept current. */
import type { CheckRuns } from "../github/check-runs.js";
import type { Reporter } from "./reporter.js";

export function checkRunReporter(checks: CheckRuns): Reporter {
  return {
    name: "check run",
    // Every push moves the check run to the new head (pushes always sync).
    syncOn: ["session.status", "pr.opened", "prompt.started", "prompt.finished", "git.push", "tool.call"],
    sync: (sessionId) => checks.sync(sessionId),
  };
}
