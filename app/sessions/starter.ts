/**
 * Starting a session from the web page or the CLI, on a local repository
 * (local mode) or a GitHub repository the viewer can write to.
 *
 * Warm-up (as Ramp does): when someone starts typing a prompt, `warm` creates
 * a session without a prompt and dispatches its runner, which checks out the
 * repository and boots OpenCode, then waits. `start` adopts that session if
 * it is still unused, so the prompt lands on a ready sandbox. An unused warm
 * session ends when its runner's idle timeout passes.
 */
import type { Viewer } from "../api/access.js";
import type { Config } from "../config.js";
import { upsertInstallation, upsertRepository, upsertUser, type RepositoryRow, type UserRow } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { findUnusedWarmSession, updateSession, type SessionRow } from "../db/sessions.js";
import type { GitHubGateway } from "../github/gateway.js";
import { canTrigger, type PermissionCache } from "../github/permissions.js";
import { newSessionId } from "../util/tokens.js";
import { localIdentity, missingIdentityMessage } from "../../sandbox/git/author-local.js";
import { sessionBranch, titleLine } from "./branch.js";
import { LocalRepoError, registerLocalRepo } from "./local-repo.js";
import type { SessionService } from "./service.js";

export class StartError extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

/** How long a warm sandbox waits to be adopted before a new one is made. */
const WARM_ADOPTION_MS = 10 * 60_000;

export class SessionStarter {
  constructor(
    private readonly deps: {
      db: Db;
      config: Config;
      sessions: SessionService;
      github: GitHubGateway | null;
      permissions: PermissionCache | null;
    },
  ) {}

  /** The repository a viewer may start work on: a local path, or owner/name they can write to. */
  async repository(viewer: Viewer, ref: string): Promise<RepositoryRow> {
    const { db, config, github, permissions } = this.deps;
    if (viewer.local) {
      let repo: RepositoryRow;
      try {
        repo = await registerLocalRepo(db, ref, config.localRepos.length ? config.localRepos : null);
      } catch (err) {
        if (err instanceof LocalRepoError) throw new StartError(400, err.message);
        throw err;
      }
      // Its commits will be the developer's own: say now, not after the agent's work, if git cannot name them.
      if (!(await localIdentity(repo.localPath!))) throw new StartError(400, missingIdentityMessage(repo.localPath!));
      return repo;
    }
    if (!github || !permissions)
      throw new StartError(400, "starting sessions on GitHub repositories needs the GitHub App");
    const m = /^([\w.-]+)\/([\w.-]+)$/.exec(ref);
    if (!m) throw new StartError(400, "repo must be owner/name");
    const [, owner, name] = m as unknown as [string, string, string];
    let installationId: number;
    try {
      installationId = await github.installationFor(owner, name);
    } catch (err) {
      if ((err as { status?: number }).status === 404)
        throw new StartError(404, `Inspect is not installed on ${owner}/${name}`);
      throw err;
    }
    if (!canTrigger(await permissions.get(installationId, owner, name, viewer.login))) {
      throw new StartError(403, `you need write access to ${owner}/${name}`);
    }
    const info = await github.repository(installationId, owner, name);
    await upsertInstallation(db, installationId, owner);
    return upsertRepository(db, {
      githubId: info.id,
      owner,
      name,
      installationId,
      defaultBranch: info.defaultBranch,
      private: info.private,
    });
  }

  private author(viewer: Viewer): Promise<UserRow> {
    return upsertUser(this.deps.db, { login: viewer.login, githubId: viewer.id, avatarUrl: viewer.avatarUrl });
  }

  /** Prepare a sandbox for this viewer and repository before the prompt exists. */
  async warm(viewer: Viewer, ref: string): Promise<boolean> {
    const repo = await this.repository(viewer, ref);
    const user = await this.author(viewer);
    if (await findUnusedWarmSession(this.deps.db, user.id, repo.id, new Date(Date.now() - WARM_ADOPTION_MS)))
      return true;
    await this.deps.sessions.createWarm({
      repo,
      createdBy: user,
      baseBranch: repo.defaultBranch,
      headBranch: (id) => `inspect/${id}`,
    });
    return true;
  }

  /** `client`: who typed the prompt — the CLI says so (x-inspect-client); the page is the default. */
  async start(
    viewer: Viewer,
    ref: string,
    prompt: string,
    model: string | null,
    client: "cli" | "web" = "web",
  ): Promise<SessionRow> {
    const repo = await this.repository(viewer, ref);
    const user = await this.author(viewer);
    const source = viewer.local && client === "cli" ? "cli" : "web";
    const threadKind = viewer.local ? "local" : "web";
    const warm = await findUnusedWarmSession(this.deps.db, user.id, repo.id, new Date(Date.now() - WARM_ADOPTION_MS));
    if (warm) {
      await updateSession(this.deps.db, warm.id, { threadKind, title: titleLine(prompt, 200), model });
      await this.deps.sessions.queue(warm.id, { author: user, text: prompt, source });
      return (await this.deps.sessions.get(warm.id))!;
    }
    const id = newSessionId();
    const { session } = await this.deps.sessions.create(
      {
        repo,
        threadKind,
        threadNumber: null,
        title: prompt,
        baseBranch: repo.defaultBranch,
        headBranch: sessionBranch(id, prompt),
        headExists: false,
        createdBy: user,
        model,
      },
      { author: user, text: prompt, source },
      id,
    );
    return session;
  }
}
