/**
 * The Octokit Inspect uses. Probot's plugins already retry 5xx (plugin-retry)
 * and throttle writes, but Probot's own handler gives up on secondary rate
 * limits; GitHub asks integrations to wait and retry, so we do, a bounded
 * number of times. All of this runs off the webhook response path.
 */
import { ProbotOctokit } from "probot";

const MAX_RATE_LIMIT_RETRIES = 3;

export const InspectOctokit = ProbotOctokit.defaults((options: any) => ({
  ...options,
  throttle: {
    ...options.throttle,
    onSecondaryRateLimit: (retryAfter: number, req: { method: string; url: string }, octokit: any, retryCount: number) => {
      octokit.log?.warn?.(`secondary rate limit on ${req.method} ${req.url}; retry ${retryCount + 1} in ${retryAfter} s`);
      return retryCount < MAX_RATE_LIMIT_RETRIES;
    },
    onRateLimit: (retryAfter: number, req: { method: string; url: string }, octokit: any, retryCount: number) => {
      octokit.log?.warn?.(`rate limit on ${req.method} ${req.url}; retry ${retryCount + 1} in ${retryAfter} s`);
      return retryCount < MAX_RATE_LIMIT_RETRIES;
    },
  },
}));
