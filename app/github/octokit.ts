/**
 * The Octokit Inspect uses. Probot's plugins already retry 5xx (plugin-retry)
 * and throttle writes, but Probot's own handler gives up on secondary rate
 * limits; GitHub asks integrations to wait and retry, so we do, a bounded
 * number of times. All of this runs off the webhook response path.
 *
 * Writes are spaced per installation (Probot keys the throttle by installation
 * id). The plugin's default spacing is 1 s, which puts a session's status
 * comment 1 s and its runner dispatch 2 s behind the 👀; a session's burst is
 * three writes, and secondary limits are retried, so 250 ms is enough.
 * Writes that notify people (new comments) default to 3 s apart; a session
 * posts one, so 1 s keeps a burst of new sessions' status comments prompt.
 *
 * Every request has a deadline (`withRequestTimeout`): a GitHub that accepts a connection and
 * never answers must not hold a webhook's work, a reporter or a runner claim for ever. A request
 * that times out fails as a 5xx would (plugin-retry tries it again; the inbox retries its delivery).
 */
import Bottleneck from "bottleneck";
import { ProbotOctokit } from "probot";

const MAX_RATE_LIMIT_RETRIES = 3;
const WRITE_SPACING_MS = 250;
const NOTIFYING_WRITE_SPACING_MS = 1_000;
const writes = new Bottleneck.Group({ id: "inspect-write", maxConcurrent: 1, minTime: WRITE_SPACING_MS });
const notifications = new Bottleneck.Group({
  id: "inspect-notifications",
  maxConcurrent: 1,
  minTime: NOTIFYING_WRITE_SPACING_MS,
});

/** Long enough for GitHub's slow endpoints (a workflow dispatch, a big diff), short of a hang. */
export const GITHUB_REQUEST_TIMEOUT_MS = 20_000;

type Fetch = typeof globalThis.fetch;

/** The same Octokit class, each of its requests aborted after `ms`. */
export function withRequestTimeout<T extends typeof ProbotOctokit>(Base: T, ms: number): T {
  return Base.defaults((o: any) => ({
    ...o,
    request: { ...o.request, fetch: timedFetch(ms, o.request?.fetch) },
  })) as T;
}

function timedFetch(ms: number, inner?: Fetch): Fetch {
  return (input, init = {}) => {
    const deadline = AbortSignal.timeout(ms);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    // The global is read per call: test doubles (nock) install themselves on it.
    return (inner ?? globalThis.fetch)(input, { ...init, signal });
  };
}

const BaseOctokit = ProbotOctokit.defaults((options: any) => ({
  ...options,
  throttle: {
    write: writes,
    notifications,
    ...options.throttle,
    onSecondaryRateLimit: (
      retryAfter: number,
      req: { method: string; url: string },
      octokit: any,
      retryCount: number,
    ) => {
      octokit.log?.warn?.(
        `secondary rate limit on ${req.method} ${req.url}; retry ${retryCount + 1} in ${retryAfter} s`,
      );
      return retryCount < MAX_RATE_LIMIT_RETRIES;
    },
    onRateLimit: (retryAfter: number, req: { method: string; url: string }, octokit: any, retryCount: number) => {
      octokit.log?.warn?.(`rate limit on ${req.method} ${req.url}; retry ${retryCount + 1} in ${retryAfter} s`);
      return retryCount < MAX_RATE_LIMIT_RETRIES;
    },
  },
}));

export const InspectOctokit = withRequestTimeout(BaseOctokit, GITHUB_REQUEST_TIMEOUT_MS);
