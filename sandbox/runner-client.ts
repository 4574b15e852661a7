/**
 * The runtime's side of the runner API (protocol/runner-api.ts): typed calls, responses
 * validated with the shared schemas, retries for transient failures (network errors, 5xx,
 * 429). 4xx other than 429 are final and surface as RunnerApiError.
 *
 * The control plane may be down for a while (a restart, a crash): what must not be lost —
 * events, a prompt's end report, a push notice — is retried until it is answered or until
 * the control plane has been out of reach for the contact timeout, after which the runner
 * gives up (the control plane has given the run up by then too).
 */
import type { NewEvent } from "../protocol/events.js";
import {
  AppendEventsResponse,
  ClaimResponse,
  NextResponse,
  PoolClaimResponse,
  PoolNextResponse,
  RUNNER_API_PREFIX,
  type ExitRequest,
  type PromptDoneRequest,
  type PushedRequest,
} from "../protocol/runner-api.js";
import { backoff, logRetries, withRetry } from "./retry.js";

export class RunnerApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "RunnerApiError";
  }
}

export class ContactLostError extends Error {
  override name = "ContactLostError";
}

const retryable = (error: unknown) =>
  !(error instanceof ContactLostError) &&
  (!(error instanceof RunnerApiError) || error.status >= 500 || error.status === 429);

export interface RunnerClientOptions {
  attempts?: number;
  retryDelayMs?: number;
  /** Where a retry is told (default stderr). */
  log?: (line: string) => void;
}

export class RunnerClient {
  private token: string | null = null;
  private sessionId: string | null = null;
  private readonly base: string;
  private lastContact = Date.now();
  /** Set from the claimed session's spec. */
  private contactTimeoutMs = 90_000;

  constructor(
    controlPlaneUrl: string,
    private readonly options: RunnerClientOptions = {},
  ) {
    this.base = controlPlaneUrl.replace(/\/+$/, "") + RUNNER_API_PREFIX;
  }

  async claim(bearer: string, sessionId: string): Promise<ClaimResponse> {
    const body = await this.request("POST", "/claim", { sessionId }, bearer);
    return this.adopt(ClaimResponse.parse(body));
  }

  /** A pooled runner's claim of its slot (app/pool): no session yet. */
  async claimSlot(bearer: string, slotId: string): Promise<PoolClaimResponse> {
    return this.adoptSlot(await this.request("POST", "/pool/claim", { slotId }, bearer));
  }

  /** A slot claimed elsewhere (the Action claims before it starts the runtime). */
  adoptSlot(claimed: unknown): PoolClaimResponse {
    const parsed = PoolClaimResponse.parse(claimed);
    this.contactTimeoutMs = parsed.pool.heartbeatTimeoutMs;
    this.lastContact = Date.now();
    return parsed;
  }

  /** A pooled runner's long-poll for a session; `ready` once it is prepared. */
  async poolNext(
    slotId: string,
    slotToken: string,
    waitSeconds: number,
    ready: boolean,
    signal?: AbortSignal,
  ): Promise<PoolNextResponse> {
    const query = new URLSearchParams({ wait: String(waitSeconds), ready: ready ? "1" : "0" });
    const path = `/pool/${encodeURIComponent(slotId)}/next?${query}`;
    const body = await this.request("GET", path, undefined, slotToken, signal, (waitSeconds + 15) * 1_000);
    return PoolNextResponse.parse(body);
  }

  /** Take over a claim made elsewhere (the Action claims, then hands it to the runtime). */
  adopt(claimed: ClaimResponse): ClaimResponse {
    const parsed = ClaimResponse.parse(claimed);
    this.token = parsed.sessionToken;
    this.sessionId = parsed.session.id;
    const spec = parsed.session;
    this.contactTimeoutMs = spec.heartbeatTimeoutMs ?? spec.heartbeatIntervalMs * 3;
    this.lastContact = Date.now();
    return parsed;
  }

  /** The control plane has not answered for longer than the contact timeout. */
  contactLost(now = Date.now()): boolean {
    return now - this.lastContact > this.contactTimeoutMs;
  }

  get contactTimeoutSeconds(): number {
    return Math.round(this.contactTimeoutMs / 1000);
  }

  /**
   * Long-poll for the next instruction; `signal` lets shutdown interrupt the wait. `current` is
   * the prompt being worked on and `seen` the newest one handed out to us, so the control plane
   * can tell a prompt whose handout or end report was lost.
   */
  async next(
    waitSeconds: number,
    signal?: AbortSignal,
    state: { current?: number | null; seen?: number | null } = {},
  ): Promise<NextResponse> {
    const query = new URLSearchParams({ wait: String(waitSeconds) });
    // 0: none (always sent, so the control plane knows this runner reports its state).
    query.set("current", String(state.current ?? 0));
    query.set("seen", String(state.seen ?? 0));
    const body = await this.request(
      "GET",
      `${this.sessionPath()}/next?${query}`,
      undefined,
      undefined,
      signal,
      (waitSeconds + 15) * 1_000,
    );
    return NextResponse.parse(body);
  }

  async events(events: NewEvent[]): Promise<number> {
    const body = await this.request("POST", `${this.sessionPath()}/events`, { events }, ...this.untilContactLost());
    return AppendEventsResponse.parse(body).lastSeq;
  }

  /** A 409 means it was recorded already (an earlier attempt whose answer was lost). */
  async promptDone(promptId: number, done: PromptDoneRequest): Promise<void> {
    try {
      await this.request("POST", `${this.sessionPath()}/prompts/${promptId}/done`, done, ...this.untilContactLost());
    } catch (error) {
      if (error instanceof RunnerApiError && error.status === 409) return;
      throw error;
    }
  }

  async pushed(pushed: PushedRequest): Promise<void> {
    await this.request("POST", `${this.sessionPath()}/pushed`, pushed, ...this.untilContactLost());
  }

  /** Request arguments for a call retried until answered, or until the control plane is out of reach too long. */
  private untilContactLost(): [undefined, undefined, number, number] {
    return [undefined, undefined, 30_000, Number.POSITIVE_INFINITY];
  }

  async heartbeat(): Promise<void> {
    await this.request("POST", `${this.sessionPath()}/heartbeat`, {}, undefined, undefined, 10_000, 1);
  }

  async exit(exit: ExitRequest): Promise<void> {
    await this.request("POST", `${this.sessionPath()}/exit`, exit, undefined, undefined, 10_000, 2);
  }

  private readonly log = (line: string) =>
    (this.options.log ?? ((l: string) => void process.stderr.write(`[sandbox] ${l}\n`)))(line);

  private sessionPath(): string {
    if (!this.sessionId) throw new Error("not claimed yet");
    return `/sessions/${encodeURIComponent(this.sessionId)}`;
  }

  private async request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    bearer?: string,
    signal?: AbortSignal,
    timeoutMs = 30_000,
    attempts = this.options.attempts ?? 4,
  ): Promise<unknown> {
    const token = bearer ?? this.token;
    if (!token) throw new Error("no runner credential");
    const persistent = attempts === Number.POSITIVE_INFINITY;
    return withRetry(
      async () => {
        if (persistent && this.contactLost())
          throw new ContactLostError(
            `the control plane has not answered for over ${this.contactTimeoutSeconds} s; giving up on ${method} ${path.split("?")[0]}`,
          );
        const timeout = AbortSignal.timeout(timeoutMs);
        const res = await fetch(this.base + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await res.text();
        // Any answer but a server error means the control plane is there (and has its database).
        if (res.status < 500) this.lastContact = Date.now();
        if (!res.ok) {
          let detail = text.slice(0, 500);
          try {
            detail = JSON.parse(text).error ?? detail;
          } catch {
            /* not JSON */
          }
          throw new RunnerApiError(
            `${method} ${RUNNER_API_PREFIX}${path.split("?")[0]} → ${res.status}: ${detail}`,
            res.status,
          );
        }
        return text ? JSON.parse(text) : {};
      },
      {
        attempts,
        delayMs: backoff(this.options.retryDelayMs ?? 300, 5_000),
        retryable,
        signal,
        onRetry: persistent
          ? (error, attempt, delay) => {
              // Told once in a while, not on every attempt of a long outage.
              if (attempt === 1 || attempt % 10 === 0)
                this.log(
                  `${method} ${path.split("?")[0]} failed (attempt ${attempt}), retrying every ${delay} ms until the control plane answers: ${(error as Error).message}`,
                );
            }
          : logRetries(attempts, this.log),
      },
    );
  }
}
