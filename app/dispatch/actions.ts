import type { GitHubGateway } from "../github/gateway.js";
import type { Dispatcher, DispatchRequest } from "./dispatcher.js";

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
 */
export class ActionsDispatcher implements Dispatcher {
  readonly kind = "actions";
  readonly usesClaimTokens = false;
  private installation: Promise<number> | null = null;

  constructor(private readonly opts: ActionsDispatcherOptions) {}

  async dispatch(req: DispatchRequest): Promise<void> {
    const [owner, name] = this.opts.repo.split("/") as [string, string];
    this.installation ??= this.opts.github.installationFor(owner, name).catch((err) => {
      this.installation = null;
      throw err;
    });
    const installationId = await this.installation;
    await this.opts.github.dispatchWorkflow(installationId, owner, name, this.opts.workflow, this.opts.ref, {
      session_id: req.sessionId,
      control_plane_url: this.opts.controlPlaneUrl,
    });
  }

  async close(): Promise<void> {}
}
