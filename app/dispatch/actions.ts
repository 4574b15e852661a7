import type { GitHubGateway, WorkflowRunInfo } from "../github/gateway.js";
import type { DispatchResult, Dispatcher, DispatchRequest } from "./dispatcher.js";

export interface ActionsDispatcherOptions {
  github: GitHubGateway;
  /** owner/name of the repository holding the runner workflow. */
  repo: string;
  workflow: string;
  ref: string;
  controlPlaneUrl: string;
}

/**
 * `workflow_dispatch` of the runner workflow. The inputs carry the session id
 * and where to call back, never a secret: the job proves itself with OIDC.
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
    const installationId = await this.installationId();
    const { runId } = await this.opts.github.dispatchWorkflow(
      installationId,
      this.owner,
      this.name,
      this.opts.workflow,
      this.opts.ref,
      {
        session_id: req.sessionId,
        control_plane_url: this.opts.controlPlaneUrl,
      },
    );
    return { githubRunId: runId };
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
