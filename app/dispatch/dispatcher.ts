/** Starting a runner for a session: a GitHub Actions job, or a child process here. */
export interface DispatchRequest {
  sessionId: string;
  /** One-time bearer for POST /api/runner/claim; only local runners get one. */
  claimToken: string | null;
}

/** What a dispatcher learnt about the runner it started. */
export interface DispatchResult {
  /** `actions`: the workflow run GitHub started for the dispatch, when it said (null: it did not). */
  githubRunId?: number | null;
}

export interface Dispatcher {
  readonly kind: "local" | "actions";
  /** Local runners authenticate with a claim token; Actions runners with OIDC. */
  readonly usesClaimTokens: boolean;
  dispatch(req: DispatchRequest): Promise<DispatchResult | void>;
  /**
   * Whether the session's runner is still running, where this dispatcher can tell (a local
   * process — also one an earlier control plane started); undefined where it cannot (Actions).
   */
  alive?(sessionId: string): boolean;
  /** A runner this process started or adopted: its end will be reported (onExit), with how it ended. */
  tracks?(key: string): boolean;
  /**
   * The warm pool (app/pool), where this dispatcher offers it: start a pooled runner for a slot
   * (a local one claims the slot with `claimToken`; an Actions job with its OIDC token), stop one
   * (an Actions job: its workflow run is cancelled, best effort), and record which session a
   * pooled runner took over (so `alive(sessionId)` and the runner's exit speak of that session
   * from then on).
   */
  dispatchPool?(req: { slotId: string; claimToken: string | null }): Promise<DispatchResult | void>;
  stopPool?(slot: { id: string; githubRunId: number | null }): Promise<void> | void;
  bindPool?(slotId: string, sessionId: string): void;
  /** End every runner this process started (local) before shutdown. */
  close(): Promise<void>;
}

export class DispatchError extends Error {
  override name = "DispatchError";
}
