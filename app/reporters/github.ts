/** The GitHub reporters: status comment, check run, pull request, 🚀 reactions. */
import { CheckRuns } from "../github/check-runs.js";
import { PullRequests, type PullRequestDeps } from "../github/pull-requests.js";
import { checkRunReporter } from "./check-run.js";
import { pullRequestReporter } from "./pull-request.js";
import { PickedUpReactions } from "./reactions.js";
import type { Reporter } from "./reporter.js";
import { StatusCommentReporter } from "./status-comment.js";

/** The GitHub reporters need what opening a pull request needs, nothing more. */
export type GitHubReporterDeps = PullRequestDeps;

export function githubReporters(deps: GitHubReporterDeps): Reporter[] {
  return [
    new StatusCommentReporter(deps),
    checkRunReporter(new CheckRuns(deps)),
    pullRequestReporter(new PullRequests(deps)),
    new PickedUpReactions(deps),
  ];
}
