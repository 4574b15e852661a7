/**
 * The session service: creating sessions, queueing prompts, stopping,
 * archiving, and starting runners. It knows nothing of Probot or HTTP;
 * GitHub intake (app/github) and the HTTP APIs call it.
 */
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { getRepository, type RepositoryRow, type UserRow } from "../db/accounts.js";
import {
  hasQueuedPrompt,
  insertPrompt,
  listPrompts,
  runningPrompt,
  updatePromptIf,
  type PromptRow,
} from "../db/prompts.js";
import { insertEvents } from "../db/events.js";
import { activeRun, endRun, insertRun, recentRuns, recordDispatchedRun, type RunRow } from "../db/runs.js";
import type { PromptContext } from "../db/schema.js";
import { getSession, insertSession, updateSession, type SessionRow } from "../db/sessions.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import type { NewEvent, PromptSource } from "../../protocol/events.js";
import type { Logger } from "../util/tasks.js";
import { newSessionId, randomToken, sha256 } from "../util/tokens.js";
import { titleLine } from "./branch.js";
import type { SessionBus } from "./bus.js";
import type { EventLog } from "./event-log.js";
import { isActive } from "./state.js";
import { tryTransition } from "./transition.js";

export interface SessionDeps {
  db: Db;
  config: Config;
  events: EventLog;
  bus: SessionBus;
  dispatcher: Dispatcher;
  log: Logger;
}

export interface NewSession {
  repo: RepositoryRow;
  threadKind: "issue" | "pull_request" | "web" | "local" | "warm";
  threadNumber: number | null;
  title: string;
  baseBranch: string;
  headBranch: string;
  headExists: boolean;
  /** The head commit, when the branch exists already (a PR's). */
  headSha?: string | null;
  createdBy: UserRow;
  model?: string | null;
  prNumber?: number | null;
  prUrl?: string | null;
  /** The session whose agent spawned this one (app/children). */
  parentSessionId?: string | null;
}

export interface NewPrompt {
  author: UserRow;
  text: string;
  source: PromptSource;
  context?: PromptContext | null;
  comment?: { id: number; kind: string } | null;
}

/** Ready sandboxes a new run may take instead of a fresh runner (app/pool). */
export interface SandboxPool {
  /** True when a ready sandbox took the run; `cold` starts a fresh runner should it fail to. */
  assign(sessionId: string, run: RunRow, cold: () => Promise<void>): Promise<boolean>;
}

export class SessionService {
  /** Shutting down: no new runner is started; queued prompts wait for the next start's sweep. */
  private closing = false;
  private pool: SandboxPool | null = null;

  constructor(readonly deps: SessionDeps) {}

  usePool(pool: SandboxPool): void {
    this.pool = pool;
  }

  shutDown(): void {
    this.closing = true;
  }

  private get db() {
    return this.deps.db;
  }

  get(id: string): Promise<SessionRow | undefined> {
    return getSession(this.db, id);
  }

  /**
   * A new session with its first prompt and its run, in one transaction (a crash leaves all
   * three or none); then the runner is dispatched.
   */
  async create(
    spec: NewSession,
    first: NewPrompt,
    id = newSessionId(),
  ): Promise<{ session: SessionRow; prompt: PromptRow }> {
    const claimToken = this.newClaimToken();
    const created = await this.db.transaction(async (tx) => {
      const session = await insertSession(tx, {
        id,
        repositoryId: spec.repo.id,
        threadKind: spec.threadKind,
        threadNumber: spec.threadNumber,
        title: titleLine(spec.title, 200),
        status: "queued",
        baseBranch: spec.baseBranch,
        headBranch: spec.headBranch,
        headExists: spec.headExists,
        headSha: spec.headSha ?? null,
        model: spec.model ?? null,
        createdByUserId: spec.createdBy.id,
        prNumber: spec.prNumber ?? null,
        prUrl: spec.prUrl ?? null,
        parentSessionId: spec.parentSessionId ?? null,
      });
      const queued = await insertEvents(tx, id, [{ type: "session.status", data: { status: "queued" } }]);
      const prompt = await insertPrompt(tx, promptValues(id, first));
      const announced = await insertEvents(tx, id, [promptQueuedEvent(prompt.id, first)]);
      const run = await insertRun(tx, id, claimToken ? sha256(claimToken) : null);
      return { session, prompt, run, stored: [...queued, ...announced] };
    });
    this.deps.bus.emit(id, created.stored);
    await this.startRunner(id, created.run, claimToken);
    return { session: (await this.get(id))!, prompt: created.prompt };
  }

  /** A session with no prompt yet whose runner prepares the sandbox ahead of the prompt (see SessionStarter). */
  async createWarm(spec: {
    repo: RepositoryRow;
    createdBy: UserRow;
    baseBranch: string;
    headBranch: (id: string) => string;
  }): Promise<SessionRow> {
    const id = newSessionId();
    const session = await insertSession(this.db, {
      id,
      repositoryId: spec.repo.id,
      threadKind: "warm",
      threadNumber: null,
      title: "Warm sandbox",
      status: "queued",
      baseBranch: spec.baseBranch,
      headBranch: spec.headBranch(id),
      createdByUserId: spec.createdBy.id,
    });
    await this.deps.events.append(id, [
      { type: "session.status", data: { status: "queued", reason: "warming up a sandbox" } },
    ]);
    await this.dispatch(id);
    return session;
  }

  /**
   * A follow-up: queued in order behind earlier prompts. If the session's
   * runner has already exited, a new run continues on the same branch.
   */
  async queue(sessionId: string, p: NewPrompt): Promise<PromptRow> {
    const session = await this.get(sessionId);
    if (!session) throw new Error(`session ${sessionId} not found`);
    if (session.status === "archived") throw new SessionClosedError("this session is archived; start a new one");
    const restart = !isActive(session.status);
    const context = restart ? { ...(p.context ?? {}), history: await this.history(sessionId) } : p.context;
    const prompt = await this.addPrompt(session, { ...p, context });
    if (restart && (await tryTransition(this.deps, sessionId, "queued", `follow-up from @${p.author.login}`))) {
      await this.dispatch(sessionId);
    } else if (!restart && session.status !== "queued" && !(await activeRun(this.db, sessionId))) {
      // Active but its runner is gone unheard: the follow-up must not wait for the sweep.
      await this.ensureRun(sessionId, "The runner ended without reporting back.");
    }
    return prompt;
  }

  private async addPrompt(session: SessionRow, p: NewPrompt): Promise<PromptRow> {
    const prompt = await insertPrompt(this.db, promptValues(session.id, p));
    await this.deps.events.append(session.id, [promptQueuedEvent(prompt.id, p)]);
    return prompt;
  }

  /** Earlier prompts, for an agent that starts fresh on the same branch. */
  private async history(sessionId: string): Promise<string> {
    const prompts = await listPrompts(this.db, sessionId);
    return prompts
      .filter((p) => p.status !== "cancelled" && p.status !== "queued")
      .map((p, i) => {
        const commits = p.commits?.length ? ` (commits ${p.commits.map((c) => c.sha.slice(0, 7)).join(", ")})` : "";
        const summary = p.summary
          ? `\n   Result: ${titleLine(p.summary, 400)}`
          : p.error
            ? `\n   Error: ${titleLine(p.error, 300)}`
            : "";
        return `${i + 1}. @${p.authorLogin}: ${titleLine(p.text, 300)} → ${p.status}${commits}${summary}`;
      })
      .join("\n");
  }

  /** Stop: abort the running turn, drop queued prompts, end the run. */
  async stop(sessionId: string, by: string, reason = `stopped by @${by}`): Promise<boolean> {
    const row = await tryTransition(this.deps, sessionId, "stopped", reason);
    if (!row) return false;
    await this.cancelQueued(sessionId, by);
    await this.endUnclaimedRun(sessionId, "stopped");
    this.deps.bus.wake(sessionId);
    return true;
  }

  /** The thread is done with (PR merged or closed): archive, and tell a live runner to exit. */
  async archive(sessionId: string, reason: string): Promise<boolean> {
    const row = await tryTransition(this.deps, sessionId, "archived", reason);
    if (!row) return false;
    await this.cancelQueued(sessionId, "inspect");
    await this.endUnclaimedRun(sessionId, "archived");
    this.deps.bus.wake(sessionId);
    return true;
  }

  /** The author of a queued prompt may withdraw it before it starts. */
  async cancelPrompt(
    sessionId: string,
    promptId: number,
    by: string,
  ): Promise<"cancelled" | "not_found" | "forbidden" | "not_queued"> {
    const prompts = await listPrompts(this.db, sessionId);
    const prompt = prompts.find((p) => p.id === promptId);
    if (!prompt) return "not_found";
    if (prompt.authorLogin.toLowerCase() !== by.toLowerCase()) return "forbidden";
    const row = await updatePromptIf(this.db, sessionId, promptId, ["queued"], {
      status: "cancelled",
      finishedAt: new Date(),
    });
    if (!row) return "not_queued";
    await this.deps.events.append(sessionId, [{ type: "prompt.cancelled", data: { promptId, by } }]);
    return "cancelled";
  }

  private async cancelQueued(sessionId: string, by: string): Promise<void> {
    for (const p of await listPrompts(this.db, sessionId)) {
      if (p.status !== "queued") continue;
      if (await updatePromptIf(this.db, sessionId, p.id, ["queued"], { status: "cancelled", finishedAt: new Date() })) {
        await this.deps.events.append(sessionId, [{ type: "prompt.cancelled", data: { promptId: p.id, by } }]);
      }
    }
  }

  private async endUnclaimedRun(sessionId: string, reason: string): Promise<void> {
    const run = await activeRun(this.db, sessionId);
    if (run?.state === "queued") await endRun(this.db, run.id, reason);
  }

  /** Start a runner for a queued session. A failure to start fails the session with the reason. */
  async dispatch(sessionId: string): Promise<void> {
    const claimToken = this.newClaimToken();
    const run = await insertRun(this.db, sessionId, claimToken ? sha256(claimToken) : null);
    await this.startRunner(sessionId, run, claimToken);
  }

  private newClaimToken(): string | null {
    return this.deps.dispatcher.usesClaimTokens ? randomToken() : null;
  }

  private async startRunner(sessionId: string, run: RunRow, claimToken: string | null): Promise<void> {
    const cold = () => this.dispatchRunner(sessionId, run, claimToken);
    const pooled = await this.pool?.assign(sessionId, run, cold).catch((err) => {
      this.deps.log.warn({ sessionId, err }, "the warm pool failed; starting a fresh runner");
      return false;
    });
    if (!pooled) await cold();
  }

  private async dispatchRunner(sessionId: string, run: RunRow, claimToken: string | null): Promise<void> {
    let started;
    try {
      started = await this.deps.dispatcher.dispatch({ sessionId, claimToken });
    } catch (err) {
      await endRun(this.db, run.id, "dispatch failed");
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log.warn({ sessionId, err }, "dispatch failed");
      await this.fail(sessionId, `Could not start a runner: ${message}`);
      return;
    }
    // An Actions job's claim is checked against the workflow run GitHub said it started. Not
    // recorded (a database blip): the claim asks GitHub about the job's run instead.
    if (started?.githubRunId) {
      await recordDispatchedRun(this.db, run.id, started.githubRunId).catch((err) =>
        this.deps.log.warn({ sessionId, err }, "could not record the dispatched workflow run"),
      );
    }
  }

  /** Mark a session failed with a message users will see (page, status comment). */
  async fail(sessionId: string, message: string): Promise<void> {
    await this.deps.events.append(sessionId, [{ type: "error", data: { message } }]);
    await tryTransition(this.deps, sessionId, "failed", message);
    this.deps.bus.wake(sessionId);
  }

  /**
   * After a run ends: prompts that arrived meanwhile (or were queued behind a lost runner) start
   * a new run. Not when the last runner never came (no runner online: a person should look) or
   * after RETRY_LIMIT runners in a row failed — then the session says so and waits for a comment.
   */
  async resumeIfQueued(sessionId: string): Promise<void> {
    if (this.closing) return;
    const session = await this.get(sessionId);
    if (!session || isActive(session.status) || session.status === "archived") return;
    if (!(await hasQueuedPrompt(this.db, sessionId))) return;
    const recent = await recentRuns(this.db, sessionId, RETRY_LIMIT);
    if (recent[0] && !recent[0].claimedAt) return;
    if (recent.length === RETRY_LIMIT && recent.every((r) => FAILED_RUN_ENDS.has(r.endReason ?? ""))) {
      // Said once: the sweep comes by again every few seconds.
      if (session.statusReason !== GAVE_UP) {
        await updateSession(this.db, sessionId, { statusReason: GAVE_UP });
        await this.deps.events.append(sessionId, [
          { type: "error", data: { message: `Inspect stopped retrying: ${GAVE_UP}.` } },
        ]);
      }
      return;
    }
    if (await tryTransition(this.deps, sessionId, "queued", "follow-up waiting")) await this.dispatch(sessionId);
  }

  /**
   * The rule: an active session has a live run, and queued prompts get one. Repairs a session
   * that lost its run without anyone hearing (a crash between two writes, a runner that ended
   * while the control plane was down): the prompt it was running fails with `why`, the session
   * ends, and what is queued runs on a fresh run.
   */
  async ensureRun(sessionId: string, why: string): Promise<void> {
    if (this.closing) return;
    const session = await this.get(sessionId);
    if (!session || session.status === "archived" || (await activeRun(this.db, sessionId))) return;
    if (session.status === "queued") {
      // Queued with no run: a crash came between the two writes. A moment's grace keeps this
      // from racing a dispatch that is just about to insert its run.
      if (Date.now() - session.updatedAt.getTime() > QUEUED_GRACE_MS) await this.dispatch(sessionId);
      return;
    }
    if (isActive(session.status)) {
      const lost = await this.failRunningPrompt(sessionId, why);
      if (lost) await this.fail(sessionId, why);
      else await tryTransition(this.deps, sessionId, "completed", why);
    }
    await this.resumeIfQueued(sessionId);
  }

  /** The prompt a vanished runner was working on ends failed with `why`; true when there was one. */
  async failRunningPrompt(sessionId: string, why: string): Promise<boolean> {
    const running = await runningPrompt(this.db, sessionId);
    if (!running) return false;
    const row = await updatePromptIf(this.db, sessionId, running.id, ["running"], {
      status: "failed",
      finishedAt: new Date(),
      error: why,
    });
    if (!row) return false;
    await this.deps.events.append(sessionId, [
      { type: "prompt.finished", data: { promptId: running.id, status: "failed", commits: [], error: why } },
    ]);
    return true;
  }

  async repository(session: SessionRow): Promise<RepositoryRow> {
    const repo = await getRepository(this.db, session.repositoryId);
    if (!repo) throw new Error(`repository ${session.repositoryId} not found`);
    return repo;
  }
}

function promptValues(sessionId: string, p: NewPrompt) {
  return {
    sessionId,
    authorUserId: p.author.id,
    authorLogin: p.author.login,
    source: p.source,
    text: p.text,
    context: p.context ?? null,
    commentId: p.comment?.id ?? null,
    commentKind: p.comment?.kind ?? null,
  };
}

function promptQueuedEvent(promptId: number, p: NewPrompt): NewEvent {
  return {
    type: "prompt.queued",
    data: {
      promptId,
      text: p.text,
      author: {
        login: p.author.login,
        id: p.author.githubId ?? null,
        name: p.author.name,
        avatarUrl: p.author.avatarUrl,
      },
      source: p.source,
    },
  };
}

const QUEUED_GRACE_MS = 30_000;
/** Runners in a row that may fail before the session stops starting new ones by itself. */
const RETRY_LIMIT = 3;
/** How a run ends when its runner failed (rather than finished or was stopped). */
const FAILED_RUN_ENDS = new Set(["error", "timeout", "process exited", "lost"]);
const GAVE_UP = `${RETRY_LIMIT} runners in a row failed; comment again (or send a follow-up) to try once more`;

export class SessionClosedError extends Error {
  override name = "SessionClosedError";
}
