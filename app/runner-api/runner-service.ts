/**
 * What a runner can do to a session: claim it, take prompts, report progress,
 * heartbeat and exit. Also the reaper that fails sessions whose runner vanished.
 */
import { getUser } from "../db/accounts.js";
import { hasQueuedPrompt, requeueRunning, runningPrompt, takeNextPrompt, updatePromptIf } from "../db/prompts.js";
import { activeRun, endRun, findClaimedRun, markClaimed, queuedRun, staleRuns, touchRun, type RunRow } from "../db/runs.js";
import { updateSession } from "../db/sessions.js";
import type { GitHubGateway } from "../github/gateway.js";
import type { NewEvent } from "../protocol/events.js";
import type { ClaimResponse, NextResponse, PromptDoneRequest, PushedRequest, SessionSpec } from "../protocol/runner-api.js";
import { buildAgentPrompt } from "../sessions/agent-prompt.js";
import { promptTitle, titleLine } from "../sessions/branch.js";
import type { SessionService } from "../sessions/service.js";
import { tryTransition } from "../sessions/transition.js";
import { randomToken, sha256 } from "../util/tokens.js";
import { resolveEnvPlaceholders } from "./resolve-env.js";

export class RunnerError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export interface PushHook {
  (sessionId: string, push: PushedRequest): Promise<void> | void;
}

export class RunnerService {
  private readonly pushHooks: PushHook[] = [];

  constructor(
    private readonly sessions: SessionService,
    private readonly github: GitHubGateway | null,
  ) {}

  private get deps() {
    return this.sessions.deps;
  }

  /** Called after every push the runner reports (PR opening hooks in here). */
  onPushed(hook: PushHook): void {
    this.pushHooks.push(hook);
  }

  /**
   * Claim a dispatched session. `authorised` says how the caller proved itself:
   * by a local claim token (checked here against the queued run), or by an OIDC
   * token already verified for the runner repository and workflow.
   */
  async claim(sessionId: string, auth: { claimToken: string } | { oidc: Record<string, unknown> }): Promise<ClaimResponse> {
    const session = await this.sessions.get(sessionId);
    if (!session) throw new RunnerError(404, "session not found");
    const run = await queuedRun(this.deps.db, sessionId);
    if (!run || session.status !== "queued") throw new RunnerError(409, `session is ${session.status}, not waiting for a runner`);
    if ("claimToken" in auth) {
      if (!run.claimTokenHash || run.claimTokenHash !== sha256(auth.claimToken)) throw new RunnerError(401, "invalid runner token");
    }
    const sessionToken = randomToken();
    const info = "oidc" in auth ? { runId: auth.oidc.run_id, repository: auth.oidc.repository, actor: auth.oidc.actor } : { local: true };
    if (!(await markClaimed(this.deps.db, run.id, sha256(sessionToken), info))) throw new RunnerError(409, "session was claimed by another runner");
    const moved = await tryTransition(this.deps, sessionId, "starting", "runner claimed the session");
    if (!moved) {
      await endRun(this.deps.db, run.id, "claim raced a status change");
      throw new RunnerError(409, "session changed while it was being claimed");
    }
    try {
      return { sessionToken, session: await this.spec(sessionId) };
    } catch (err) {
      const message = `Could not prepare the session for the runner: ${err instanceof Error ? err.message : String(err)}`;
      await endRun(this.deps.db, run.id, "spec failed");
      await this.sessions.fail(sessionId, message);
      throw err;
    }
  }

  private async spec(sessionId: string): Promise<SessionSpec> {
    const { config } = this.deps;
    const session = (await this.sessions.get(sessionId))!;
    const repo = await this.sessions.repository(session);
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
    if (opencodeConfig.missing.length) this.deps.log.warn({ sessionId, missing: opencodeConfig.missing }, "INSPECT_OPENCODE_CONFIG names unset {env:…} variables; they were sent empty");
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
      setupTimeoutMs: config.setupTimeoutMs,
      sessionUrl: `${config.publicUrl}/sessions/${session.id}`,
    };
  }

  /** The run behind a session token, or 401. */
  async authenticate(sessionId: string, sessionToken: string): Promise<RunRow> {
    const run = await findClaimedRun(this.deps.db, sessionId, sha256(sessionToken));
    if (!run) throw new RunnerError(401, "invalid or expired session token");
    return run;
  }

  /** Long-poll for the next thing to do. Woken by the bus; re-checks the database at least every second (other replicas). */
  async next(run: RunRow, waitMs: number, signal?: AbortSignal): Promise<NextResponse> {
    const deadline = Date.now() + waitMs;
    await touchRun(this.deps.db, run.id);
    for (;;) {
      const decision = await this.decide(run);
      if (decision.kind !== "none" || Date.now() >= deadline || signal?.aborted) return decision;
      await this.deps.bus.wait(run.sessionId, Math.min(1_000, deadline - Date.now()), signal);
    }
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
      await updatePromptIf(db, prompt.id, ["running"], { status: "queued", startedAt: null });
      return { kind: "none" };
    }
    await this.deps.events.append(session.id, [{ type: "prompt.started", data: { promptId: prompt.id } }]);
    const repo = await this.sessions.repository(session);
    const author = prompt.authorUserId ? await getUser(db, prompt.authorUserId) : undefined;
    return {
      kind: "prompt",
      prompt: {
        id: prompt.id,
        text: buildAgentPrompt({ repoFullName: repo.fullName, authorLogin: prompt.authorLogin, text: prompt.text, context: prompt.context ?? null, branch: session.headBranch }),
        title: prompt.source === "github_assignment" ? titleLine(session.title) : promptTitle(prompt.text, session.title),
        author: { login: prompt.authorLogin, id: author?.githubId ?? null, name: author?.name ?? null, avatarUrl: author?.avatarUrl ?? null },
        model: session.model ?? this.deps.config.model,
      },
    };
  }

  async appendEvents(run: RunRow, events: (NewEvent & { ts?: string })[]): Promise<number> {
    const stored = await this.deps.events.append(run.sessionId, events);
    return stored.at(-1)!.seq;
  }

  async promptDone(run: RunRow, promptId: number, body: PromptDoneRequest): Promise<void> {
    const { db } = this.deps;
    const row = await updatePromptIf(db, promptId, ["running"], {
      status: body.status,
      finishedAt: new Date(),
      commits: body.commits,
      error: body.error ?? null,
      usage: body.usage ?? null,
      summary: body.summary ?? null,
      changedFiles: body.changedFiles ?? null,
    });
    if (!row || row.sessionId !== run.sessionId) throw new RunnerError(409, "that prompt is not running in this session");
    await this.deps.events.append(run.sessionId, [
      {
        type: "prompt.finished",
        data: { promptId, status: body.status, commits: body.commits, error: body.error, usage: body.usage, changedFiles: body.changedFiles },
      },
    ]);
    await tryTransition(this.deps, run.sessionId, "idle", body.status === "failed" ? `the prompt failed: ${body.error ?? "unknown error"}` : undefined);
  }

  async pushed(run: RunRow, push: PushedRequest): Promise<void> {
    await updateSession(this.deps.db, run.sessionId, { headSha: push.sha, headExists: true });
    for (const hook of this.pushHooks) await hook(run.sessionId, push);
  }

  async heartbeat(run: RunRow): Promise<void> {
    await touchRun(this.deps.db, run.id);
  }

  async exit(run: RunRow, reason: "idle" | "stopped" | "exit" | "error", error?: string): Promise<void> {
    const ended = await endRun(this.deps.db, run.id, reason);
    if (!ended) return;
    const sessionId = run.sessionId;
    if (reason === "error") {
      await requeueRunning(this.deps.db, sessionId);
      await this.sessions.fail(sessionId, `The runner failed: ${error ?? "unknown error"}`);
    } else if (reason === "idle") {
      const session = await this.sessions.get(sessionId);
      if (session?.threadKind === "warm") await this.sessions.archive(sessionId, "warm sandbox not used");
      else await tryTransition(this.deps, sessionId, "completed", "no follow-ups; the runner exited");
    }
    await this.sessions.resumeIfQueued(sessionId);
  }

  /** A local runner process ended: if it had not said goodbye, the session failed. */
  async processExited(sessionId: string, code: number | null, signal: string | null, outputTail: string): Promise<void> {
    const run = await activeRun(this.deps.db, sessionId);
    if (!run) return;
    if (!(await endRun(this.deps.db, run.id, "process exited"))) return;
    await requeueRunning(this.deps.db, sessionId);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const detail = outputTail ? `\n\n${outputTail}` : "";
    await this.sessions.fail(sessionId, `The runner ${how} before finishing.${detail}`);
  }

  /** Fail sessions whose runner stopped heartbeating, or was never picked up. Queued prompts are kept. */
  async reap(heartbeatTimeoutMs: number, claimTimeoutMs: number): Promise<number> {
    const now = Date.now();
    const stale = await staleRuns(this.deps.db, new Date(now - heartbeatTimeoutMs), new Date(now - claimTimeoutMs));
    for (const run of stale) {
      if (!(await endRun(this.deps.db, run.id, "timeout"))) continue;
      await requeueRunning(this.deps.db, run.sessionId);
      const kept = (await hasQueuedPrompt(this.deps.db, run.sessionId)) ? " Its prompts are kept: comment again (or send a follow-up) to resume." : "";
      const message =
        run.state === "claimed"
          ? `The runner stopped responding (no heartbeat for ${Math.round(heartbeatTimeoutMs / 1000)} s).${kept}`
          : `No runner picked up the session within ${Math.round(claimTimeoutMs / 60_000)} min. Is a runner online?${kept}`;
      await this.sessions.fail(run.sessionId, message);
    }
    return stale.length;
  }
}
