import type { GitHubGateway, WorkflowRunInfo } from "../github/gateway.js";
import type { Logger } from "../util/tasks.js";
import type { DispatchResult, Dispatcher, DispatchRequest } from "./dispatcher.js";

export interface ActionsDispatcherOptions {
  github: GitHubGateway;
  /** owner/name of the repository holding the runner workflow. */
  repo: string;
  workflow: string;
  ref: string;
  controlPlaneUrl: string;
  log: Logger;
}

/**
 * `workflow_dispatch` of the runner workflow. The inputs carry the session id (or, for the warm
 * pool, the slot id) and where to call back, never a secret: the job proves itself with OIDC.
 * Also what a claim is checked against: the runner repository's id and, where
 * GitHub did not say which run a dispatch started, that run's record.
 */
export class ActionsDispatcher implements Dispatcher {
  readonly kind = "actions";
  readonly usesClaimTokens = false;
  private installation: Promise<number> | null = null;
  private repoId: Promise<number> | null = null;
  private readonly owner: string;
  private readonly name: string;

  constructor(private readonly opts: ActionsDispatcherOptions) {
    [this.owner, this.name] = opts.repo.split("/") as [string, string];
  }

  get workflow(): string {
    return this.opts.workflow;
  }

  private installationId(): Promise<number> {
    this.installation ??= this.opts.github.installationFor(this.owner, this.name).catch((err) => {
      this.installation = null;
      throw err;
    });
    return this.installation;
  }

  async dispatch(req: DispatchRequest): Promise<DispatchResult> {
    return this.dispatchJob({ session_id: req.sessionId });
  }

  /**
   * A warm pool slot's job (app/pool): it claims the slot with its OIDC token, prepares and
   * long-polls, holding a self-hosted runner until a session takes it or it is recycled.
   */
  async dispatchPool(req: { slotId: string }): Promise<DispatchResult> {
    return this.dispatchJob({ slot_id: req.slotId });
  }

  private async dispatchJob(input: { session_id: string } | { slot_id: string }): Promise<DispatchResult> {
    const installationId = await this.installationId();
    const { runId } = await this.opts.github.dispatchWorkflow(
      installationId,
      this.owner,
      this.name,
      this.opts.workflow,
      this.opts.ref,
      { ...input, control_plane_url: this.opts.controlPlaneUrl },
    );
    return { githubRunId: runId };
  }

  /**
   * A pooled job that went silent or did not take its session: its workflow run is cancelled, so
   * it does not hold the runner until its timeout. Best effort: a failure is logged, and the job
   * leaves on its own at its next poll (the slot has ended).
   */
  async stopPool(slot: { id: string; githubRunId: number | null }): Promise<void> {
    const { log } = this.opts;
    const runId = slot.githubRunId;
    if (!runId) {
      log.info({ slot: slot.id }, "cannot cancel the pooled job: its workflow run is not known (never claimed)");
      return;
    }
    await this.installationId()
      .then((id) => this.opts.github.cancelWorkflowRun(id, this.owner, this.name, runId))
      .then(
        (cancelled) =>
          log.info(
            { slot: slot.id, runId },
            cancelled ? "cancelled the pooled job's workflow run" : "the pooled job's workflow run had already ended",
          ),
        (err) => log.warn({ slot: slot.id, runId, err }, "could not cancel the pooled job's workflow run"),
      );
  }

  /**
   * The runner repository's numeric id, asked once. Runner tokens must carry it: a repository
   * deleted and re-created under the same name (by anyone) has another id.
   */
  repositoryId(): Promise<number> {
    this.repoId ??= this.installationId()
      .then((id) => this.opts.github.repository(id, this.owner, this.name))
      .then((r) => r.id)
      .catch((err) => {
        this.repoId = null;
        throw err;
      });
    return this.repoId;
  }

  /** A workflow run of the runner repository (null: no such run). */
  async workflowRun(runId: number): Promise<WorkflowRunInfo | null> {
    return this.opts.github.workflowRun(await this.installationId(), this.owner, this.name, runId);
  }

  async close(): Promise<void> {}
}
