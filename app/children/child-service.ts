/**
 * Child sessions: a session's agent starts, watches, steers and stops sessions of its own
 * (through the sandbox's MCP server and the runner API, app/children/routes.ts). A child is a
 * full session — dispatched like any other, its own branch and PR — attributed to the person
 * who asked the parent, and linked to it. Every refusal is a ChildRefusal whose message is
 * written for the agent, and creates nothing.
 */
import { getRepository, getUser, type RepositoryRow, type UserRow } from "../db/accounts.js";
import { listPrompts } from "../db/prompts.js";
import type { SessionRow } from "../db/sessions.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { isActive } from "../sessions/state.js";
import { sessionBranch } from "../sessions/branch.js";
import { SessionClosedError, type SessionService } from "../sessions/service.js";
import { StartError, type SessionStarter } from "../sessions/starter.js";
import { sessionUrl } from "../sessions/url.js";
import { newSessionId } from "../util/tokens.js";
import type { ChildStatus, SpawnChildRequest } from "../../protocol/children.js";
import { formatUsd } from "../../protocol/usage.js";
import { budgetUsage } from "../usage/session-usage.js";
import { countChildren, depthOf, listChildren } from "./queries.js";

export class ChildRefusal extends Error {
  constructor(
    readonly status: 403 | 404 | 409 | 429,
    message: string,
  ) {
    super(message);
  }
}

export interface ChildDeps {
  db: Db;
  config: Config;
  sessions: SessionService;
  /** Checks the requester's write access to another repository, on GitHub. */
  starter: SessionStarter;
}

export class ChildService {
  constructor(private readonly deps: ChildDeps) {}

  async spawn(parent: SessionRow, req: SpawnChildRequest): Promise<ChildStatus> {
    const { db, config } = this.deps;
    const { maxDepth, maxPerSession } = config.children;
    if (maxDepth === 0)
      throw new ChildRefusal(403, "Child sessions are turned off on this Inspect (INSPECT_CHILD_DEPTH=0).");
    const depth = (await depthOf(db, parent)) + 1;
    if (depth > maxDepth)
      throw new ChildRefusal(
        429,
        `Refused: a child here would be ${depth} levels below a person's session, and the limit is ${maxDepth} (INSPECT_CHILD_DEPTH). Do this work in this session instead.`,
      );
    const spawned = await countChildren(db, parent.id);
    if (spawned >= maxPerSession)
      throw new ChildRefusal(
        429,
        `Refused: this session has spawned ${spawned} child sessions, the most it may (INSPECT_CHILD_MAX=${maxPerSession}). Send follow-ups to an existing child (send_prompt) or do the work here.`,
      );
    const cap = config.budgets.sessionUsd;
    if (cap !== undefined) {
      // A parent's budget covers its children: with nothing left of it, a child could not run a turn.
      const spent = (await budgetUsage(db, parent)).cost;
      if (spent >= cap - 1e-9)
        throw new ChildRefusal(
          429,
          `Refused: this session and its child sessions have spent ${formatUsd(spent)} of the session budget of ${formatUsd(cap)} (INSPECT_SESSION_BUDGET_USD), which covers its children; nothing is left for a child.`,
        );
    }
    const requester = parent.createdByUserId ? await getUser(db, parent.createdByUserId) : undefined;
    if (!requester) throw new ChildRefusal(403, "Refused: this session has no requester to attribute a child to.");
    const repo = await this.repository(parent, requester, req.repository);

    const id = newSessionId();
    const { session } = await this.deps.sessions.create(
      {
        repo,
        threadKind: "web",
        threadNumber: null,
        title: req.title ?? req.prompt,
        baseBranch: repo.defaultBranch,
        headBranch: sessionBranch(id, req.title ?? req.prompt),
        headExists: false,
        createdBy: requester,
        model: parent.model,
        parentSessionId: parent.id,
      },
      { author: requester, text: req.prompt, source: "session" },
      id,
    );
    return this.view(session, repo);
  }

  async list(parent: SessionRow): Promise<ChildStatus[]> {
    const children = await listChildren(this.deps.db, parent.id);
    return Promise.all(children.map((c) => this.view(c)));
  }

  async status(parent: SessionRow, childId: string): Promise<ChildStatus> {
    return this.view(await this.child(parent, childId));
  }

  /** A follow-up, queued as the parent's requester; an ended child starts a new run on its branch. */
  async prompt(parent: SessionRow, childId: string, text: string): Promise<{ promptId: number }> {
    const child = await this.child(parent, childId);
    const requester = child.createdByUserId ? await getUser(this.deps.db, child.createdByUserId) : undefined;
    if (!requester) throw new ChildRefusal(403, "Refused: the child session has no requester.");
    try {
      const prompt = await this.deps.sessions.queue(child.id, { author: requester, text, source: "session" });
      return { promptId: prompt.id };
    } catch (error) {
      if (error instanceof SessionClosedError) throw new ChildRefusal(409, `Refused: ${error.message}.`);
      throw error;
    }
  }

  async cancel(parent: SessionRow, childId: string): Promise<{ stopped: boolean }> {
    const child = await this.child(parent, childId);
    if (!isActive(child.status)) return { stopped: false };
    return {
      stopped: await this.deps.sessions.stop(child.id, "inspect", `stopped by its parent session ${parent.id}`),
    };
  }

  /** Only the parent's own children: a session cannot reach others' sessions through this API. */
  private async child(parent: SessionRow, childId: string): Promise<SessionRow> {
    const child = await this.deps.sessions.get(childId);
    if (!child || child.parentSessionId !== parent.id)
      throw new ChildRefusal(404, `No child session ${childId} of this session (list_children names them).`);
    return child;
  }

  private async repository(parent: SessionRow, requester: UserRow, ref: string | undefined): Promise<RepositoryRow> {
    const own = await this.deps.sessions.repository(parent);
    if (!ref || ref.toLowerCase() === own.fullName.toLowerCase()) return own;
    if (own.localPath !== null)
      throw new ChildRefusal(403, "Refused: on a local repository a child session works in the same repository only.");
    const viewer = { login: requester.login, id: requester.githubId, avatarUrl: null, token: null, local: false };
    try {
      return await this.deps.starter.repository(viewer, ref);
    } catch (error) {
      // The same answer as a person gets: Inspect not installed there, or no write access.
      if (error instanceof StartError)
        throw new ChildRefusal(error.status === 404 ? 404 : 403, `Refused: ${error.message}.`);
      throw error;
    }
  }

  private async view(session: SessionRow, repo?: RepositoryRow): Promise<ChildStatus> {
    const { db, config } = this.deps;
    const repository = repo ?? (await getRepository(db, session.repositoryId));
    const finished = (await listPrompts(db, session.id)).filter((p) => p.finishedAt).at(-1);
    return {
      id: session.id,
      url: sessionUrl(config.publicUrl, session.id),
      repository: repository?.fullName ?? "",
      title: session.title,
      status: session.status,
      branch: session.headBranch,
      prUrl: session.prUrl,
      lastAssistantText: finished?.summary ? clip(finished.summary, 4_000) : null,
      lastError: finished?.status === "failed" && finished.error ? clip(finished.error, 2_000) : null,
    };
  }
}

/** Line breaks kept (the agent reads it), length capped. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
