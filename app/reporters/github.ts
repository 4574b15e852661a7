/** The GitHub reporters: status comment, check run, pull request, 🚀 reactions. */
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { CheckRuns } from "../github/check-runs.js";
import type { GitHubGateway } from "../github/gateway.js";
import { PullRequests } from "../github/pull-requests.js";
import type { EventLog } from "../sessions/event-log.js";
import type { SessionService } from "../sessions/service.js";
import type { Logger } from "../util/tasks.js";
import { checkRunReporter } from "./check-run.js";
import { pullRequestReporter } from "./pull-request.js";
import { PickedUpReactions } from "./reactions.js";
import type { Reporter } from "./reporter.js";
import { StatusCommentReporter } from "./status-comment.js";

export interface GitHubReporterDeps {
  db: Db;
  config: Config;
  github: GitHubGateway;
  sessions: SessionService;
  events: EventLog;
  secret: string;
  log: Logger;
}

export function githubReporters(deps: GitHubReporterDeps): Reporter[] {
  return [
    new StatusCommentReporter(deps),
    checkRunReporter(new CheckRuns(deps)),
    pullRequestReporter(new PullRequests(deps)),
    new PickedUpReactions(deps),
  ];
}
