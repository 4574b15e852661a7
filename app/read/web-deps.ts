/**
 * The control plane's side of the web: builds what webRoutes(deps) needs
 * (web/deps.ts) from the database, the access policy, the configuration and the
 * session starter, so web/ never reaches into app/.
 */
import type { ReadService, WebDeps } from "../../web/deps.js";
import type { AccessPolicy, Viewer } from "../api/access.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { StartError } from "../sessions/starter.js";
import type { Logger } from "../util/tasks.js";
import { allRepositories, recentSessions, repositoryByFullName, sessionWithRepository } from "./queries.js";
import { sessionStats } from "./stats.js";

function readService(db: Db): ReadService {
  return {
    recentSessions: (limit) => recentSessions(db, limit),
    repositories: () => allRepositories(db),
    repositoryByFullName: (fullName) => repositoryByFullName(db, fullName),
    session: (id) => sessionWithRepository(db, id),
    stats: (query) => sessionStats(db, query),
  };
}

export interface WebDepsOptions {
  db: Db;
  config: Pick<Config, "oauth" | "github" | "model">;
  access: AccessPolicy;
  rooms: { url: string; secret: string } | null;
  /** The session starter's warm-up (SessionStarter.warm); none → warm-up answers warming:false. */
  warm?: (viewer: Viewer, repo: string) => Promise<boolean>;
  log?: Pick<Logger, "warn" | "debug">;
}

export function webDeps(opts: WebDepsOptions): WebDeps {
  const { warm } = opts;
  return {
    read: readService(opts.db),
    access: opts.access,
    oauth: opts.config.oauth !== null,
    githubWebUrl: opts.config.github.webUrl,
    defaultModel: opts.config.model,
    rooms: opts.rooms,
    log: opts.log,
    // A refusal (no write access, app not installed, not a git repository) is expected, not a failure.
    warmup: warm
      ? async (viewer, repo) => {
          try {
            return { warming: await warm(viewer, repo) };
          } catch (err) {
            if (err instanceof StartError) return { refused: err.message };
            throw err;
          }
        }
      : undefined,
  };
}
