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

export const InspectOctokit = ProbotOctokit.defaults((options: any) => ({
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
