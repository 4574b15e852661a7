/**
 * What a runner can do to a session: claim it, take prompts, report progress,
 * heartbeat and exit. Also the reaper that fails sessions whose runner vanished.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { getUser } from "../db/accounts.js";
import { runningPrompt, takeNextPrompt, updatePromptIf } from "../db/prompts.js";
import {
  activeRun,
  endRun,
  type ClaimBinding,
  findClaimedRun,
  liveRuns,
  markClaimed,
  oidcTokenUsed,
  pruneOidcTokenUses,
  queuedRun,
  recentRuns,
  staleRuns,
  touchRun,
  type RunRow,
} from "../db/runs.js";
import { sessionsWithoutRun, updateSession, type SessionRow } from "../db/sessions.js";
import type { RepositoryRow } from "../db/accounts.js";
import { freeBranch } from "../sessions/branch.js";
import type { GitHubGateway, WorkflowRunInfo } from "../github/gateway.js";
import type { NewEvent } from "../../protocol/events.js";
import type {
  ClaimResponse,
  NextResponse,
  PromptDoneRequest,
  PushedRequest,
  SessionSpec,
} from "../../protocol/runner-api.js";
import { buildAgentPrompt } from "../sessions/agent-prompt.js";
import { promptTitle, titleLine } from "../sessions/branch.js";
import type { SessionService } from "../sessions/service.js";
import { tryTransition } from "../sessions/transition.js";
import { sessionUrl } from "../sessions/url.js";
import { budgetUsage } from "../usage/session-usage.js";
import { randomToken, sha256 } from "../util/tokens.js";
import type { RunnerIdentity } from "./oidc.js";
import { resolveEnvPlaceholders } from "./resolve-env.js";

const execFileAsync = promisify(execFile);

/** Local mode: the developer's own repository, read with git directly. */
async function localBranchExists(repoPath: string, branch: string): Promise<boolean> {
  try {
    await execFileAsync("git", ["-C", repoPath, "show-ref", "--verify", "--quiet", `refs/heads/${branch}`], {
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

export class RunnerError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** `actions` mode: the runner workflow, and its runs as GitHub records them. */
export interface RunnerWorkflow {
  /** The workflow file name, e.g. inspect-runner.yml. */
  workflow: string;
  workflowRun(runId: number): Promise<WorkflowRunInfo | null>;
}

/** What an Actions job was dispatched for: a session's run, or a warm pool slot (app/pool). */
export interface DispatchedJob {
  kind: "session" | "pool slot";
  /** The session's or the slot's id: the run-name of a run the dispatch did not name. */
  id: string;
  /** The workflow run the dispatch answered with (null: the host did not say). */
  githubRunId: number | null;
  dispatchedAt: Date;
}

/**
 * How far GitHub's clock (a run's `created_at`) may be behind ours (the run row's dispatch time)
 * for a run to still count as started by that dispatch.
 */
const CLOCK_SKEW_MS = 2 * 60_000;

/** What a runner says of itself when it polls (see protocol/runner-api.ts). */
export interface RunnerState {
  current: number | null;
  seen: number | null;
}

export interface PushHook {
  (sessionId: string, push: PushedRequest): Promise<void> | void;
}

export class RunnerService {
  private readonly pushHooks: PushHook[] = [];
  private readonly startedAt = Date.now();

  constructor(
    private readonly sessions: SessionService,
    private readonly github: GitHubGateway | null,
    private readonly runnerWorkflow: RunnerWorkflow | null = null,
  ) {}

  private get deps() {
    return this.sessions.deps;
  }

  /** Called after every push the runner reports (PR opening hooks in here). */
  onPushed(hook: PushHook): void {
    this.pushHooks.push(hook);
  }

  /**
   * Claim a dispatched session. `auth` says how the caller proved itself: by a local claim token
   * (checked here against the queued run), or by an OIDC token already verified as the runner
   * workflow's (see oidc.ts). An Actions job may claim only the run it was dispatched for, once, with
   * a token not used before. A refusal changes nothing.
   */
  async claim(sessionId: string, auth: { claimToken: string } | { oidc: RunnerIdentity }): Promise<ClaimResponse> {
    const { db } = this.deps;
    const oidc = "oidc" in auth ? auth.oidc : null;
    if (oidc && (await oidcTokenUsed(db, oidc.jti)))
      throw new RunnerError(401, "this OIDC token was already used to claim a session; each claim needs a new token");
    const session = await this.sessions.get(sessionId);
    if (!session) throw new RunnerError(404, "session not found");
    const run = await queuedRun(db, sessionId);
    if (!run || session.status !== "queued")
      throw new RunnerError(409, `session is ${session.status}, not waiting for a runner`);
    if ("claimToken" in auth) {
      if (!run.claimTokenHash || run.claimTokenHash !== sha256(auth.claimToken))
        throw new RunnerError(401, "invalid runner token");
    }
    if (oidc)
      await this.checkDispatchedRun(
        { kind: "session", id: sessionId, githubRunId: run.githubRunId, dispatchedAt: run.dispatchedAt },
        oidc,
      );
    const info = oidc ? { runId: String(oidc.runId), repository: oidc.repository, actor: oidc.actor } : { local: true };
    if (oidc)
      await pruneOidcTokenUses(db).catch((err) => this.deps.log.warn({ err }, "could not prune used OIDC tokens"));
    return this.takeRun(
      run,
      info,
      "runner claimed the session",
      oidc ? { githubRunId: oidc.runId, jti: oidc.jti, tokenExpiresAt: oidc.expiresAt } : undefined,
    );
  }

  /**
   * A pooled sandbox takes over the session's queued run it was assigned (app/pool): its slot
   * token already proved it, so the session's claim is made here on its behalf.
   */
  async claimAssigned(sessionId: string, runId: number, slotId: string): Promise<ClaimResponse> {
    const session = await this.sessions.get(sessionId);
    const run = await queuedRun(this.deps.db, sessionId);
    if (!session || !run || run.id !== runId || session.status !== "queued")
      throw new RunnerError(409, `session ${sessionId} is no longer waiting for this runner`);
    return this.takeRun(run, { local: true, poolSlot: slotId }, "a ready sandbox took the session");
  }

  private async takeRun(run: RunRow, info: unknown, why: string, binding?: ClaimBinding): Promise<ClaimResponse> {
    const { db } = this.deps;
    const { sessionId } = run;
    const oidc = binding ? { runId: binding.githubRunId } : null;
    const sessionToken = randomToken();
    const outcome = await markClaimed(db, run.id, sha256(sessionToken), info, binding);
    if (!outcome.ok) {
      if (outcome.reason === "token_used")
        throw new RunnerError(401, "this OIDC token was already used to claim a session; each claim needs a new token");
      if (outcome.reason === "workflow_run_used")
        throw new RunnerError(409, `workflow run ${oidc!.runId} already claimed a run; a job claims once`);
      throw new RunnerError(409, "session was claimed by another runner");
    }
    const moved = await tryTransition(this.deps, sessionId, "starting", why);
    if (!moved) {
      await endRun(db, run.id, "claim raced a status change");
      throw new RunnerError(409, "session changed while it was being claimed");
    }
    try {
      return { sessionToken, session: await this.spec(sessionId) };
    } catch (err) {
      const message = `Could not prepare the session for the runner: ${err instanceof Error ? err.message : String(err)}`;
      await endRun(db, run.id, "spec failed");
      await this.sessions.fail(sessionId, message);
      throw err;
    }
  }

  /**
   * The job's workflow run is the one dispatched for this session run or pool slot: the run id
   * GitHub answered the dispatch with; or, where it did not say (older GitHub Enterprise Server),
   * a run of the runner workflow, started by a dispatch as the app no earlier than this one, whose
   * run-name is the session's or the slot's id (the workflow sets
   * `run-name: ${{ inputs.session_id || inputs.slot_id }}`). Session and slot ids are drawn alike
   * and never shared, so a session's job cannot claim a slot, nor a slot's job a session.
   */
  async checkDispatchedRun(job: DispatchedJob, oidc: RunnerIdentity): Promise<void> {
    const what = `${job.kind} ${job.id}`;
    if (job.githubRunId !== null) {
      if (job.githubRunId !== oidc.runId)
        throw new RunnerError(
          403,
          `OIDC token is from workflow run ${oidc.runId}, not run ${job.githubRunId} dispatched for ${what}`,
        );
      return;
    }
    if (!this.runnerWorkflow) throw new RunnerError(403, `cannot tell which workflow run was dispatched for ${what}`);
    const found = await this.runnerWorkflow.workflowRun(oidc.runId);
    const refuse = (why: string) => new RunnerError(403, `OIDC token is from workflow run ${oidc.runId}, which ${why}`);
    if (!found) throw refuse("the runner repository does not have");
    if (found.title !== job.id)
      throw refuse(
        `is named ${JSON.stringify(found.title)}, not after ${what} (the runner workflow must set run-name: \${{ inputs.session_id || inputs.slot_id }})`,
      );
    if (found.event !== "workflow_dispatch") throw refuse(`was started by a ${found.event} event, not a dispatch`);
    const file = `.github/workflows/${this.runnerWorkflow.workflow}`;
    const path = found.path.replace(/@[^@]*$/, "");
    if (path !== file && !path.endsWith(`/${file}`)) throw refuse(`runs ${found.path}, not ${file}`);
    if (found.createdAt.getTime() < job.dispatchedAt.getTime() - CLOCK_SKEW_MS)
      throw refuse(
        `was started at ${found.createdAt.toISOString()}, before this ${job.kind === "session" ? "run of the session" : "pool slot"} was dispatched`,
      );
    if (found.triggeringActor && this.github) {
      const bot = await this.github.botLogin();
      if (found.triggeringActor.toLowerCase() !== bot.toLowerCase())
        throw refuse(`was started by ${found.triggeringActor}, not by ${bot}`);
    }
  }

  /**
   * A session's first run on a branch it has not pushed yet: if an older session left a branch of
   * that name (its PR closed unmerged, or squash-merged), this session takes the next free name.
   */
  private async claimBranchName(session: SessionRow, repo: RepositoryRow): Promise<SessionRow> {
    if (session.headExists) return session;
    // Newest first: this run (just claimed), then any earlier one.
    const [, earlier] = await recentRuns(this.deps.db, session.id, 2);
    if (earlier?.claimedAt) return session;
    const exists = repo.localPath
      ? (branch: string) => localBranchExists(repo.localPath!, branch)
      : this.github && repo.installationId
        ? (branch: string) => this.github!.branchExists(repo.installationId!, repo.owner, repo.name, branch)
        : null;
    if (!exists) return session;
    const branch = await freeBranch(session.headBranch, exists);
    if (branch === session.headBranch) return session;
    this.deps.log.info({ sessionId: session.id, branch }, "the session's branch name was taken; using the next one");
    return (await updateSession(this.deps.db, session.id, { headBranch: branch })) ?? session;
  }

  private async spec(sessionId: string): Promise<SessionSpec> {
    const { config } = this.deps;
    let session = (await this.sessions.get(sessionId))!;
    const repo = await this.sessions.repository(session);
    session = await this.claimBranchName(session, repo);
    let gitToken: string | null = null;
    let gitTokenExpiresAt: string | null = null;
    let committer = { name: "Inspect", email: "inspect@localhost" };
    let noreplyDomain: string | undefined;
    if (!repo.localPath) {
      if (!this.github || !repo.installationId) throw new Error(`no GitHub App installation for ${repo.fullName}`);
      const minted = await this.github.repoToken(repo.installationId, repo.name);
      gitToken = minted.token;
      gitTokenExpiresAt = minted.expiresAt;
      const bot = await this.github.botLogin();
      // GitHub Enterprise has its own no-reply domain; an e-mail domain never carries the host's port.
      noreplyDomain = `users.noreply.${config.github.host.replace(/:\d+$/, "")}`;
      committer = { name: bot, email: `${bot}@${noreplyDomain}` };
    }
    const opencodeConfig = resolveEnvPlaceholders(config.opencodeConfig, process.env);
    if (opencodeConfig.missing.length)
      this.deps.log.warn(
        { sessionId, missing: opencodeConfig.missing },
        "INSPECT_OPENCODE_CONFIG names unset {env:…} variables; they were sent empty",
      );
    return {
      id: session.id,
      repo: { owner: repo.owner, name: repo.name, fullName: repo.fullName },
      cloneUrl: repo.localPath ?? `${config.github.webUrl}/${repo.fullName}.git`,
      baseBranch: session.baseBranch,
      headBranch: session.headBranch,
      headExists: session.headExists,
      gitToken,
      gitTokenExpiresAt,
      committer,
      noreplyDomain,
      model: session.model ?? config.model,
      opencodeConfig: opencodeConfig.value,
      idleTimeoutMs: config.idleTimeoutMs,
      heartbeatIntervalMs: Math.max(1_000, Math.floor(config.heartbeatTimeoutMs / 3)),
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      turnTimeoutMs: config.turnTimeoutMs,
      ...(config.budgets.sessionUsd || config.budgets.promptUsd ? { budgets: config.budgets } : {}),
      setupTimeoutMs: config.setupTimeoutMs,
      sessionUrl: sessionUrl(config.publicUrl, session.id),
      trustRepoConfig: config.trustRepoConfig,
      ...(config.browser ? { browser: config.browser } : {}),
    };
  }

  /** The run behind a session token, or 401. */
  async authenticate(sessionId: string, sessionToken: string): Promise<RunRow> {
    const run = await findClaimedRun(this.deps.db, sessionId, sha256(sessionToken));
    if (!run) throw new RunnerError(401, "invalid or expired session token");
    return run;
  }

  /** Long-poll for the next thing to do. Woken by the bus; re-checks the database at least every second (other replicas). */
  async next(run: RunRow, waitMs: number, signal?: AbortSignal, state?: RunnerState): Promise<NextResponse> {
    const deadline = Date.now() + waitMs;
    await touchRun(this.deps.db, run.id);
    if (state) await this.reconcile(run, state);
    for (;;) {
      const decision = await this.decide(run);
      if (decision.kind !== "none" || Date.now() >= deadline || signal?.aborted) return decision;
      await this.deps.bus.wait(run.sessionId, Math.min(1_000, deadline - Date.now()), signal);
    }
  }

  /**
   * The runner says which prompt it works on (`current`) and the newest it was handed (`seen`).
   * A prompt marked running that it is not working on was lost on the way: handed out but never
   * received (it goes back to the queue), or finished with its report lost (it fails, saying so;
   * its commits, if any, are on the branch).
   */
  private async reconcile(run: RunRow, state: RunnerState): Promise<void> {
    const { db } = this.deps;
    const running = await runningPrompt(db, run.sessionId);
    if (!running || running.id === state.current) return;
    if (state.seen === null || running.id > state.seen) {
      await updatePromptIf(db, run.sessionId, running.id, ["running"], { status: "queued", startedAt: null });
      await tryTransition(this.deps, run.sessionId, "idle", "a prompt's handout was lost; handing it out again");
      this.deps.log.warn({ sessionId: run.sessionId, promptId: running.id }, "a prompt handout was lost; queued again");
      return;
    }
    const why = "The runner's report on this prompt was lost; anything it committed is on the branch.";
    if (await this.sessions.failRunningPrompt(run.sessionId, why))
      await tryTransition(this.deps, run.sessionId, "idle", `the prompt failed: ${why}`);
  }

  private async decide(run: RunRow): Promise<NextResponse> {
    const { db } = this.deps;
    const session = await this.sessions.get(run.sessionId);
    if (!session) return { kind: "exit", reason: "session not found" };
    const running = await runningPrompt(db, session.id);
    if (["stopped", "failed", "archived", "completed"].includes(session.status)) {
      return running ? { kind: "stop", promptId: running.id } : { kind: "exit", reason: `session ${session.status}` };
    }
    if (running) return { kind: "none" };
    const prompt = await takeNextPrompt(db, session.id);
    if (!prompt) {
      if (session.status === "starting") await tryTransition(this.deps, session.id, "idle");
      return { kind: "none" };
    }
    if (!(await tryTransition(this.deps, session.id, "running", `working on @${prompt.authorLogin}'s prompt`))) {
      // The session moved (stopped/archived) between reading and taking: give the prompt back.
      await updatePromptIf(db, session.id, prompt.id, ["running"], { status: "queued", startedAt: null });
      return { kind: "none" };
    }
    await this.deps.events.append(session.id, [{ type: "prompt.started", data: { promptId: prompt.id } }]);
    const repo = await this.sessions.repository(session);
    const author = prompt.authorUserId ? await getUser(db, prompt.authorUserId) : undefined;
    return {
      kind: "prompt",
      prompt: {
        id: prompt.id,
        text: buildAgentPrompt({
          repoFullName: repo.fullName,
          authorLogin: prompt.authorLogin,
          text: prompt.text,
          context: prompt.context ?? null,
          branch: session.headBranch,
        }),
        title:
          prompt.source === "github_assignment" ? titleLine(session.title) : promptTitle(prompt.text, session.title),
        author: {
          login: prompt.authorLogin,
          id: author?.githubId ?? null,
          name: author?.name ?? null,
          avatarUrl: author?.avatarUrl ?? null,
        },
        model: session.model ?? this.deps.config.model,
        // The session budget (the operator's, or one the repository sets) counts what the earlier
        // prompts cost — of the whole family: a parent's budget covers its child sessions. This
        // prompt is running, not yet reported.
        sessionCostUsd: (await budgetUsage(this.deps.db, session)).cost,
      },
    };
  }

  async appendEvents(run: RunRow, events: (NewEvent & { ts?: string })[]): Promise<number> {
    const stored = await this.deps.events.append(run.sessionId, events);
    return stored.at(-1)!.seq;
  }

  async promptDone(run: RunRow, promptId: number, body: PromptDoneRequest): Promise<void> {
    const { db } = this.deps;
    // Scoped to the token's session: another session's prompt id matches nothing, and changes nothing.
    const row = await updatePromptIf(db, run.sessionId, promptId, ["running"], {
      status: body.status,
      finishedAt: new Date(),
      commits: body.commits,
      error: body.error ?? null,
      usage: body.usage ?? null,
      summary: body.summary ?? null,
      changedFiles: body.changedFiles ?? null,
    });
    if (!row) throw new RunnerError(409, `prompt ${promptId} is not running in session ${run.sessionId}`);
    await this.deps.events.append(run.sessionId, [
      {
        type: "prompt.finished",
        data: {
          promptId,
          status: body.status,
          commits: body.commits,
          error: body.error,
          usage: body.usage,
          changedFiles: body.changedFiles,
        },
      },
    ]);
    await tryTransition(
      this.deps,
      run.sessionId,
      "idle",
      body.status === "failed" ? `the prompt failed: ${body.error ?? "unknown error"}` : undefined,
    );
  }

  async pushed(run: RunRow, push: PushedRequest): Promise<void> {
    await updateSession(this.deps.db, run.sessionId, { headSha: push.sha, headExists: true });
    for (const hook of this.pushHooks) await hook(run.sessionId, push);
  }

  async heartbeat(run: RunRow): Promise<void> {
    await touchRun(this.deps.db, run.id);
  }

  async exit(run: RunRow, reason: "idle" | "stopped" | "exit" | "error", error?: string): Promise<void> {
    if (!(await endRun(this.deps.db, run.id, reason))) return;
    if (reason === "error") return this.runEnded(run, { failed: `The runner failed: ${error ?? "unknown error"}` });
    if (reason === "idle") {
      const session = await this.sessions.get(run.sessionId);
      if (session?.threadKind === "warm") await this.sessions.archive(run.sessionId, "warm sandbox not used");
    }
    const why = {
      idle: "no follow-ups; the runner exited",
      stopped: "the runner was shut down",
      exit: "the runner exited",
    }[reason];
    return this.runEnded(run, { ended: why });
  }

  /**
   * A run is over (its row already ended): the session must not stay `running` or `idle` with no
   * runner. A prompt still marked running was lost with the runner and fails; the session ends
   * (failed when the runner failed or lost a prompt); what is queued gets a fresh run.
   */
  private async runEnded(run: RunRow, how: { failed: string } | { ended: string }): Promise<void> {
    const { sessionId } = run;
    const failed = "failed" in how ? how.failed : null;
    const lost = await this.sessions.failRunningPrompt(
      sessionId,
      failed ?? `The runner ended (${"ended" in how ? how.ended : ""}) before it reported this prompt.`,
    );
    if (failed) await this.sessions.fail(sessionId, failed);
    else if (lost)
      await this.sessions.fail(sessionId, `The runner ended before it reported the prompt it was working on.`);
    else await tryTransition(this.deps, sessionId, "completed", "ended" in how ? how.ended : undefined);
    await this.sessions.resumeIfQueued(sessionId);
  }

  /** A local runner process ended: if it had not said goodbye, the session failed. */
  async processExited(
    sessionId: string,
    code: number | null,
    signal: string | null,
    outputTail: string,
  ): Promise<void> {
    const run = await activeRun(this.deps.db, sessionId);
    if (!run) return;
    if (!(await endRun(this.deps.db, run.id, "process exited"))) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const detail = outputTail ? `\n\n${outputTail}` : "";
    await this.runEnded(run, { failed: `The runner ${how} before finishing.${detail}` });
  }

  /**
   * Fail sessions whose runner stopped heartbeating, or was never picked up; queued prompts run
   * on a fresh run (see SessionService.resumeIfQueued). For the first timeout after this process
   * started, nothing is reaped: runners that outlived a control-plane restart are still
   * reconnecting, and their last heartbeat is as old as the outage.
   */
  async reap(heartbeatTimeoutMs: number, claimTimeoutMs: number): Promise<number> {
    const now = Date.now();
    if (now - this.startedAt < heartbeatTimeoutMs) return 0;
    const stale = await staleRuns(this.deps.db, new Date(now - heartbeatTimeoutMs), new Date(now - claimTimeoutMs));
    for (const run of stale) {
      if (!(await endRun(this.deps.db, run.id, "timeout"))) continue;
      const message =
        run.state === "claimed"
          ? `The runner stopped responding (no heartbeat for ${Math.round(heartbeatTimeoutMs / 1000)} s).`
          : `No runner picked up the session within ${Math.round(claimTimeoutMs / 60_000)} min. Is a runner online? Its prompts are kept: comment again (or send a follow-up) to resume.`;
      await this.runEnded(run, { failed: message });
    }
    return stale.length;
  }

  /**
   * At start: runs whose local runner process is gone (it died while no control plane was
   * listening, or was never started because of a crash) end now; a never-claimed one is
   * dispatched again, a claimed one fails its lost prompt and its queue gets a fresh run.
   * Runners still alive (adopted by the dispatcher) carry on. Actions jobs cannot be seen from
   * here: the reaper judges them by their heartbeats, after a grace period.
   */
  async recoverAtStart(alive: ((sessionId: string) => boolean) | undefined): Promise<void> {
    if (!alive) return;
    for (const run of await liveRuns(this.deps.db)) {
      if (alive(run.sessionId)) continue;
      if (!(await endRun(this.deps.db, run.id, run.state === "claimed" ? "lost" : "not started"))) continue;
      if (run.state === "claimed")
        await this.runEnded(run, { failed: "The runner ended while Inspect was not running." });
      else await this.sessions.dispatch(run.sessionId);
    }
  }

  /**
   * The sweep behind the rule "an active session has a live run, and queued prompts get one",
   * run at start and with the reaper: repairs sessions that lost their run unheard.
   */
  async ensureRuns(): Promise<number> {
    const ids = await sessionsWithoutRun(this.deps.db);
    for (const id of ids) await this.sessions.ensureRun(id, "The runner ended without reporting back.");
    return ids.length;
  }
}
