/**
 * The "Inspect" check run on the session's head commit: in progress while
 * working (with a Stop button), its summary kept current at milestones,
 * completed as success, failure (with the reason) or cancelled.
 */
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { claimCheckRunCreation, updateSession, type SessionRow } from "../db/sessions.js";
import type { SessionService } from "../sessions/service.js";
import { lastTurn, type TurnOutcome } from "../sessions/state.js";
import { sessionUrl } from "../sessions/url.js";
import type { CheckConclusion, CheckRunOutput, GitHubGateway } from "./gateway.js";
import { summaryInput } from "./session-summary.js";
import { checkRunOutput } from "./summary.js";

/**
 * What the check run should show for a session's state. `turn` is how its last finished turn
 * ended: an idle session after a failed turn is a failure (its reason says why).
 */
export function desiredCheck(
  session: Pick<SessionRow, "status" | "statusReason">,
  turn: TurnOutcome | null,
): { working: boolean; conclusion?: CheckConclusion; title: string } {
  const reason = session.statusReason ?? "";
  switch (session.status) {
    case "queued":
    case "starting":
      return { working: true, title: "Starting a sandbox" };
    case "running":
      return { working: true, title: reason ? reason.charAt(0).toUpperCase() + reason.slice(1) : "Working" };
    case "idle":
      if (turn === "failed") {
        const why = reason || "the prompt failed";
        return { working: false, conclusion: "failure", title: why.charAt(0).toUpperCase() + why.slice(1) };
      }
      return { working: false, conclusion: "success", title: "Done — waiting for follow-ups" };
    case "completed":
      return { working: false, conclusion: "success", title: "Done — waiting for follow-ups" };
    case "failed":
      return { working: false, conclusion: "failure", title: `Failed: ${reason || "unknown error"}` };
    case "stopped":
      return { working: false, conclusion: "cancelled", title: `Stopped${reason ? ` (${reason})` : ""}` };
    case "archived":
      return { working: false, conclusion: "cancelled", title: `Archived${reason ? ` (${reason})` : ""}` };
  }
}

export class CheckRuns {
  /** The last in-progress output sent per check run, to skip updates that change nothing. */
  private readonly lastOutput = new Map<number, string>();

  constructor(private readonly deps: { db: Db; config: Config; github: GitHubGateway; sessions: SessionService }) {}

  /**
   * Bring the check run in line with the session. The reporter serialises calls for a session
   * within a replica; across replicas, creating a commit's run is claimed in the database.
   */
  async sync(sessionId: string): Promise<void> {
    const { db, config, github } = this.deps;
    const session = await this.deps.sessions.get(sessionId);
    if (!session?.headSha) return;
    const repo = await this.deps.sessions.repository(session);
    if (!repo.installationId) return;
    const inst = repo.installationId;
    const summary = await summaryInput(db, config, session);
    const want = desiredCheck(session, lastTurn(summary.prompts));
    const output = checkRunOutput(summary, { title: want.title });
    const detailsUrl = sessionUrl(config.publicUrl, session.id);
    const moved = session.checkRunId !== null && session.checkRunSha !== session.headSha;

    if (session.checkRunId && session.checkRunOpen && moved) {
      // A new commit: the old run is superseded; the new head gets its own.
      await github.updateCheckRun(inst, repo.owner, repo.name, session.checkRunId, {
        output: { title: "Superseded by a newer commit", summary: output.summary },
        conclusion: "neutral",
      });
      await updateSession(db, sessionId, { checkRunOpen: false });
      session.checkRunOpen = false;
    }
    if (want.working) {
      if (session.checkRunId && session.checkRunOpen) {
        const key = JSON.stringify(output);
        if (this.lastOutput.get(session.checkRunId) === key) return;
        await github.updateCheckRun(inst, repo.owner, repo.name, session.checkRunId, { output });
        this.lastOutput.set(session.checkRunId, key);
      } else if (await claimCheckRunCreation(db, sessionId, session.headSha, session.checkRunId)) {
        const id = await this.create(session, inst, repo, detailsUrl, output);
        await updateSession(db, sessionId, { checkRunId: id, checkRunOpen: true, checkRunSha: session.headSha });
      }
      return;
    }
    if (session.checkRunId && session.checkRunOpen) {
      this.lastOutput.delete(session.checkRunId);
      await github.updateCheckRun(inst, repo.owner, repo.name, session.checkRunId, {
        output,
        conclusion: want.conclusion,
      });
      await updateSession(db, sessionId, { checkRunOpen: false });
    } else if (
      (!session.checkRunId || moved) &&
      (await claimCheckRunCreation(db, sessionId, session.headSha, session.checkRunId))
    ) {
      // Work finished before a check existed for this commit (e.g. first push then done): report it.
      const id = await this.create(session, inst, repo, detailsUrl, output);
      await github.updateCheckRun(inst, repo.owner, repo.name, id, { output, conclusion: want.conclusion });
      await updateSession(db, sessionId, { checkRunId: id, checkRunOpen: false, checkRunSha: session.headSha });
    }
  }

  /** Create the claimed run; a failure releases the claim so the next sync tries again. */
  private async create(
    session: SessionRow,
    inst: number,
    repo: { owner: string; name: string },
    detailsUrl: string,
    output: CheckRunOutput,
  ): Promise<number> {
    try {
      return await this.deps.github.createCheckRun(inst, repo.owner, repo.name, session.headSha!, detailsUrl, output);
    } catch (err) {
      await updateSession(this.deps.db, session.id, { checkRunClaim: null });
      throw err;
    }
  }
}
