/**
 * The runtime's side of the runner API (protocol/runner-api.ts): typed calls, responses
 * validated with the shared schemas, bounded retries for transient failures (network errors,
 * 5xx, 429). 4xx other than 429 are final and surface as RunnerApiError.
 */
import type { NewEvent } from "../protocol/events.js";
import {
  AppendEventsResponse,
  ClaimResponse,
  NextResponse,
  RUNNER_API_PREFIX,
  type ExitRequest,
  type PromptDoneRequest,
  type PushedRequest,
} from "../protocol/runner-api.js";
import { backoff, withRetry } from "./retry.js";

export class RunnerApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "RunnerApiError";
  }
}

const retryable = (error: unknown) => !(error instanceof RunnerApiError) || error.status >= 500 || error.status === 429;

export interface RunnerClientOptions {
  attempts?: number;
  retryDelayMs?: number;
}

export class RunnerClient {
  private token: string | null = null;
  private sessionId: string | null = null;
  private readonly base: string;

  constructor(
    controlPlaneUrl: string,
    private readonly options: RunnerClientOptions = {},
  ) {
    this.base = controlPlaneUrl.replace(/\/+$/, "") + RUNNER_API_PREFIX;
  }

  async claim(bearer: string, sessionId: string): Promise<ClaimResponse> {
    const body = await this.request("POST", "/claim", { sessionId }, bearer);
    const claimed = ClaimResponse.parse(body);
    this.token = claimed.sessionToken;
    this.sessionId = claimed.session.id;
    return claimed;
  }

  /** Take over a claim made elsewhere (the Action claims, then hands it to the runtime). */
  adopt(claimed: ClaimResponse): ClaimResponse {
    const parsed = ClaimResponse.parse(claimed);
    this.token = parsed.sessionToken;
    this.sessionId = parsed.session.id;
    return parsed;
  }

  /** Long-poll for the next instruction; `signal` lets shutdown interrupt the wait. */
  async next(waitSeconds: number, signal?: AbortSignal): Promise<NextResponse> {
    const body = await this.request(
      "GET",
      `${this.sessionPath()}/next?wait=${waitSeconds}`,
      undefined,
      undefined,
      signal,
      (waitSeconds + 15) * 1_000,
    );
    return NextResponse.parse(body);
  }

  async events(events: NewEvent[]): Promise<number> {
    const body = await this.request("POST", `${this.sessionPath()}/events`, { events });
    return AppendEventsResponse.parse(body).lastSeq;
  }

  async promptDone(promptId: number, done: PromptDoneRequest): Promise<void> {
    await this.request("POST", `${this.sessionPath()}/prompts/${promptId}/done`, done);
  }

  async pushed(pushed: PushedRequest): Promise<void> {
    await this.request("POST", `${this.sessionPath()}/pushed`, pushed);
  }

  async heartbeat(): Promise<void> {
    await this.request("POST", `${this.sessionPath()}/heartbeat`, {}, undefined, undefined, 10_000, 1);
  }

  async exit(exit: ExitRequest): Promise<void> {
    await this.request("POST", `${this.sessionPath()}/exit`, exit, undefined, undefined, 10_000, 2);
  }

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
    return withRetry(
      async () => {
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
      { attempts, delayMs: backoff(this.options.retryDelayMs ?? 300, 5_000), retryable, signal },
    );
  }
}
