/**
 * The warm pool: sandboxes prepared for a repository before anyone asks (snapshot restored,
 * setup script run, OpenCode booted and warmed), each a runner that claimed a *slot*, not a
 * session, and holds no session token and no write token. A new run of a session takes a ready
 * slot of its repository (`assign`); the slot's runner, long-polling, is handed the session's
 * claim and from then on is that session's runner. The pool refills behind it, recycles slots
 * older than INSPECT_SNAPSHOT_INTERVAL, and replaces runners that die (never assigning them).
 *
 * Fresh snapshots: every INSPECT_SNAPSHOT_INTERVAL, an active repository that has no pooled
 * sandbox (the pool is off, or at INSPECT_POOL_MAX) gets a *rebuild*: a slot whose runner
 * prepares from the newest default branch (fetch, setup script) and, once ready, is told to
 * leave — handing its checkout back as the snapshot. One that fails leaves the previous snapshot
 * where it was and says why in the log. (A repository with a pooled sandbox needs none: its
 * sandboxes are recycled at that interval and each new one is prepared from the newest branch.)
 */
import type { Config } from "../config.js";
import { getRepository, type RepositoryRow } from "../db/accounts.js";
import { oidcTokenUsed, pruneOidcTokenUses, type RunRow } from "../db/runs.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import type { GitHubGateway } from "../github/gateway.js";
import type { RunnerIdentity } from "../runner-api/oidc.js";
import { RunnerError, type RunnerService } from "../runner-api/runner-service.js";
import { resolveEnvPlaceholders } from "../runner-api/resolve-env.js";
import type { SessionService } from "../sessions/service.js";
import type { Logger } from "../util/tasks.js";
import { newSessionId, randomToken, sha256 } from "../util/tokens.js";
import type { PoolClaimResponse, PoolNextResponse } from "../../protocol/runner-api.js";
import { RepoBackoff } from "./backoff.js";
import {
  claimSlot,
  claimSlotWithOidc,
  findClaimedSlot,
  getSlot,
  insertSlot,
  liveSlots,
  moveSlot,
  namedRepos,
  overdueSlots,
  recentlyActiveRepos,
  recordSlotRun,
  takeReadySlot,
  touchSlot,
  type SlotPurpose,
  type SlotRow,
} from "./slots.js";

/** How long an assigned slot's runner has to take the session before it goes to a fresh runner. */
const PICKUP_MS = 10_000;
/** A slot this young may not have its runner process yet. */
const GONE_GRACE_MS = 10_000;
/** How often the pool is checked (refill, recycle, the silent replaced) besides the events that kick it. */
const SWEEP_MS = 5_000;

export interface PoolDeps {
  config: Config;
  sessions: SessionService;
  runners: RunnerService;
  dispatcher: Dispatcher;
  github: GitHubGateway | null;
  log: Logger;
  /** Background work (refills), drained at shutdown. */
  run: (name: string, fn: () => Promise<unknown>) => void;
}

export class PoolService {
  private timer: NodeJS.Timeout | null = null;
  private rebuildTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private refilling: Promise<void> | null = null;
  private again = false;
  /** Assigned slots not yet picked up: how their session gets a fresh runner instead. */
  private readonly pickups = new Map<string, { timer: NodeJS.Timeout; cold: () => Promise<void> }>();
  private readonly failing = new RepoBackoff();

  constructor(private readonly deps: PoolDeps) {}

  /** Where pooled runners can be started (a local child, or an Actions job): for the pool, and for snapshot rebuilds. */
  get available(): boolean {
    return this.deps.config.pool.max > 0 && !!this.deps.dispatcher.dispatchPool;
  }

  /** Ready sandboxes are kept and assigned (INSPECT_POOL_SIZE > 0). */
  get enabled(): boolean {
    return this.available && this.deps.config.pool.size > 0;
  }

  private get db() {
    return this.deps.sessions.deps.db;
  }

  private get bus() {
    return this.deps.sessions.deps.bus;
  }

  /** Start keeping the pool filled (once runners can reach the control plane). */
  start(): void {
    if (!this.available || this.rebuildTimer || this.closed) return;
    this.rebuildTimer = setInterval(
      () => this.deps.run("rebuild snapshots", () => this.rebuildSnapshots()),
      this.deps.config.pool.maxAgeMs,
    );
    this.rebuildTimer.unref();
    if (!this.enabled) return;
    this.timer = setInterval(() => this.kick(), SWEEP_MS);
    this.timer.unref();
    this.kick();
  }

  /** No more refills; pending pickups go to fresh runners' sweep at the next start. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.rebuildTimer) clearInterval(this.rebuildTimer);
    for (const { timer } of this.pickups.values()) clearTimeout(timer);
    this.pickups.clear();
  }

  /** Refill and sweep in the background, one pass at a time (a kick during a pass runs one more). */
  kick(): void {
    if (!this.enabled || this.closed) return;
    if (this.refilling) {
      this.again = true;
      return;
    }
    this.refilling = new Promise<void>((resolve) => {
      this.deps.run("refill the warm pool", async () => {
        try {
          do {
            this.again = false;
            await this.sweep();
            await this.refill();
          } while (this.again && !this.closed);
        } finally {
          this.refilling = null;
          resolve();
        }
      });
    });
  }

  /** Wait for the refill in progress (tests). */
  async settled(): Promise<void> {
    while (this.refilling) await this.refilling;
  }

  /**
   * A session's queued run takes a ready slot of its repository (same base branch), if one is
   * there and its runner alive. `cold` dispatches the run as without a pool: used when the slot's
   * runner does not take the session within PICKUP_MS, or dies first.
   */
  async assign(sessionId: string, run: RunRow, cold: () => Promise<void>): Promise<boolean> {
    if (!this.enabled || this.closed) return false;
    const session = await this.deps.sessions.get(sessionId);
    if (!session) return false;
    const { config, dispatcher } = this.deps;
    const now = Date.now();
    const slot = await takeReadySlot(
      this.db,
      {
        repositoryId: session.repositoryId,
        baseBranch: session.baseBranch,
        freshSince: new Date(now - config.heartbeatTimeoutMs),
        bornAfter: new Date(now - config.pool.maxAgeMs),
        sessionId,
        runId: run.id,
      },
      (s) => dispatcher.alive?.(poolKey(s.id)) ?? true,
    );
    this.kick();
    if (!slot) return false;
    this.deps.log.info({ sessionId, slot: slot.id }, "a ready sandbox takes the session");
    const timer = setTimeout(() => this.deps.run(`pool pickup ${slot.id}`, () => this.missed(slot.id)), PICKUP_MS);
    timer.unref();
    this.pickups.set(slot.id, { timer, cold });
    this.bus.wake(poolKey(slot.id));
    return true;
  }

  /** The assigned slot's runner never took the session: it goes, the session gets a fresh runner. */
  private async missed(slotId: string, why = "its runner did not take the assigned session"): Promise<void> {
    const pickup = this.pickups.get(slotId);
    this.pickups.delete(slotId);
    if (pickup) clearTimeout(pickup.timer);
    const ended = await moveSlot(this.db, slotId, ["assigned"], { state: "ended", endReason: why });
    if (!ended) return;
    this.deps.log.warn({ slot: slotId }, `${why}; starting a fresh runner for the session`);
    this.stopRunner(ended);
    if (pickup && !this.closed) await pickup.cold();
    this.kick();
  }

  /**
   * POST /pool/claim: a local runner's one-time token becomes the slot token; an Actions job's
   * OIDC token (already verified as the runner workflow's, see oidc.ts) must come from the
   * workflow run dispatched for this slot — checked as a session's claim is — and is used once.
   * The spec names no session. A refusal changes nothing.
   */
  async claim(slotId: string, auth: { claimToken: string } | { oidc: RunnerIdentity }): Promise<PoolClaimResponse> {
    const slotToken = randomToken();
    let slot: SlotRow | undefined;
    if ("claimToken" in auth) {
      slot = await claimSlot(this.db, slotId, sha256(auth.claimToken), sha256(slotToken));
      if (!slot) throw new RunnerError(401, "invalid or used pool claim token");
    } else {
      slot = await this.claimWithOidc(slotId, auth.oidc, sha256(slotToken));
    }
    const repo = await getRepository(this.db, slot.repositoryId);
    if (!repo) throw new RunnerError(404, "repository not found");
    const { config } = this.deps;
    let gitToken: string | null = null;
    let gitTokenExpiresAt: string | null = null;
    if (!repo.localPath) {
      if (!this.deps.github || !repo.installationId) throw new Error(`no GitHub App installation for ${repo.fullName}`);
      // Read-only: a pooled sandbox may fetch, never push, until a session's token is handed over.
      const minted = await this.deps.github.repoToken(repo.installationId, repo.name, "read");
      gitToken = minted.token;
      gitTokenExpiresAt = minted.expiresAt;
    }
    return {
      slotToken,
      pool: {
        slotId,
        repo: { owner: repo.owner, name: repo.name, fullName: repo.fullName },
        cloneUrl: cloneUrl(config, repo),
        baseBranch: slot.baseBranch,
        purpose: slot.purpose === "rebuild" ? "rebuild" : "pool",
        gitToken,
        gitTokenExpiresAt,
        model: config.model,
        opencodeConfig: resolveEnvPlaceholders(config.opencodeConfig, process.env).value,
        heartbeatTimeoutMs: config.heartbeatTimeoutMs,
        setupTimeoutMs: config.setupTimeoutMs,
        trustRepoConfig: config.trustRepoConfig,
        ...(config.browser ? { browser: config.browser } : {}),
      },
    };
  }

  private async claimWithOidc(slotId: string, oidc: RunnerIdentity, tokenHash: string): Promise<SlotRow> {
    const used = "this OIDC token was already used to claim; each claim needs a new token";
    if (await oidcTokenUsed(this.db, oidc.jti)) throw new RunnerError(401, used);
    const found = await getSlot(this.db, slotId);
    if (!found) throw new RunnerError(404, "pool slot not found");
    if (found.state !== "starting" || found.tokenHash)
      throw new RunnerError(
        409,
        `pool slot ${slotId} is ${found.state === "starting" ? "claimed" : found.state}, not waiting for a runner`,
      );
    await this.deps.runners.checkDispatchedRun(
      { kind: "pool slot", id: slotId, githubRunId: found.githubRunId, dispatchedAt: found.createdAt },
      oidc,
    );
    await pruneOidcTokenUses(this.db).catch((err) => this.deps.log.warn({ err }, "could not prune used OIDC tokens"));
    const outcome = await claimSlotWithOidc(this.db, slotId, tokenHash, {
      githubRunId: oidc.runId,
      jti: oidc.jti,
      tokenExpiresAt: oidc.expiresAt,
    });
    if (outcome.ok) return outcome.slot;
    if (outcome.reason === "token_used") throw new RunnerError(401, used);
    if (outcome.reason === "workflow_run_used")
      throw new RunnerError(409, `workflow run ${oidc.runId} already claimed a pool slot; a job claims once`);
    throw new RunnerError(409, `pool slot ${slotId} was claimed by another runner`);
  }

  async authenticate(slotId: string, slotToken: string): Promise<SlotRow> {
    const slot = await findClaimedSlot(this.db, slotId, sha256(slotToken));
    if (!slot) throw new RunnerError(401, "invalid pool slot token");
    return slot;
  }

  /** GET /pool/:slot/next: wait for an assignment; `ready` says the sandbox is prepared. */
  async next(slotId: string, ready: boolean, waitMs: number, signal?: AbortSignal): Promise<PoolNextResponse> {
    const deadline = Date.now() + waitMs;
    // A rebuild's slot (by its stored purpose: any replica, or a restarted one, knows it) hands back.
    if (ready && (await getSlot(this.db, slotId))?.purpose === "rebuild") return this.rebuilt(slotId);
    await touchSlot(this.db, slotId, ready);
    for (let first = true; ; first = false) {
      const slot = await getSlot(this.db, slotId);
      if (first && ready && slot) this.failing.cleared(slot.repositoryId);
      if (!slot || slot.state === "ended" || slot.state === "handed")
        return { kind: "exit", reason: slot?.endReason ?? "the slot was taken" };
      // A runner that died (or hung up) while this poll was waiting is not handed a session: the
      // exit handler sends the session to a fresh runner instead of failing it.
      if (slot.state === "assigned" && !signal?.aborted && this.deps.dispatcher.alive?.(poolKey(slotId)) !== false) {
        const handed = await this.handOver(slot);
        if (handed) return handed;
      }
      if (this.closed) return { kind: "exit", reason: "Inspect is shutting down" };
      if (Date.now() >= deadline || signal?.aborted) return { kind: "none" };
      await this.bus.wait(poolKey(slotId), Math.min(1_000, deadline - Date.now()), signal);
    }
  }

  private async handOver(slot: SlotRow): Promise<PoolNextResponse | null> {
    // Handed first, in one update: a repeated poll never claims the session twice.
    if (!(await moveSlot(this.db, slot.id, ["assigned"], { state: "handed" }))) return null;
    const pickup = this.pickups.get(slot.id);
    this.pickups.delete(slot.id);
    if (pickup) clearTimeout(pickup.timer);
    try {
      const claim = await this.deps.runners.claimAssigned(slot.sessionId!, slot.runId!, slot.id);
      this.deps.dispatcher.bindPool?.(slot.id, slot.sessionId!);
      return { kind: "assign", claim };
    } catch (err) {
      // The session moved on meanwhile (stopped, or its run ended): the sandbox is still ready.
      this.deps.log.info({ slot: slot.id, err }, "the assigned session no longer wanted the sandbox");
      await moveSlot(this.db, slot.id, ["handed"], { state: "ready", sessionId: null, runId: null, assignedAt: null });
      if (!(err instanceof RunnerError)) throw err;
      return null;
    }
  }

  /** A rebuild's sandbox is ready: it leaves, handing its checkout back as the repository's snapshot. */
  private async rebuilt(slotId: string): Promise<PoolNextResponse> {
    await moveSlot(this.db, slotId, ["starting"], { state: "ended", endReason: "snapshot rebuilt" });
    this.deps.log.info({ slot: slotId }, "snapshot rebuilt from the newest default branch; handing it back");
    return { kind: "exit", reason: "snapshot rebuilt" };
  }

  /** Every active repository without a pooled sandbox: a rebuild (within INSPECT_POOL_MAX). */
  async rebuildSnapshots(): Promise<number> {
    if (this.closed) return 0;
    const live = await liveSlots(this.db);
    let total = live.length;
    let started = 0;
    for (const repositoryId of await this.activeRepos()) {
      if (total >= this.deps.config.pool.max) break;
      if (live.some((s) => s.repositoryId === repositoryId)) continue;
      const repo = await getRepository(this.db, repositoryId);
      if (!repo) continue;
      const id = await this.startSlot(repo, "rebuilding the snapshot of", "rebuild");
      if (!id) continue;
      total++;
      started++;
    }
    return started;
  }

  private async activeRepos(): Promise<number[]> {
    const { config } = this.deps;
    return [
      ...new Set([
        ...(await namedRepos(this.db, config.pool.repos)),
        ...(await recentlyActiveRepos(this.db, new Date(Date.now() - config.pool.activeMs))),
      ]),
    ];
  }

  /** A pooled runner's process ended: a live slot ends with it (an assigned one's session goes elsewhere). */
  async slotExited(slotId: string, how: string): Promise<void> {
    const slot = await getSlot(this.db, slotId);
    if (!slot) return;
    if (slot.purpose === "rebuild" && slot.state === "starting")
      this.deps.log.warn(
        { slot: slotId, repositoryId: slot.repositoryId },
        `rebuilding the snapshot failed (its runner ${how}); the previous snapshot stays`,
      );
    if (slot.state === "assigned") await this.missed(slotId, `its runner ${how}`);
    else if (await moveSlot(this.db, slotId, ["starting", "ready"], { state: "ended", endReason: `runner ${how}` })) {
      if (!slot.readyAt) this.failing.failed(slot.repositoryId);
      this.deps.log.info({ slot: slotId, how }, "a pooled runner ended; it will be replaced");
    }
    this.kick();
  }

  /** Slots whose runner went silent, is gone, or that are past their age end (and their runners with them). */
  private async sweep(): Promise<void> {
    const { config, dispatcher } = this.deps;
    const now = Date.now();
    // A local runner not running (stopped with an earlier control plane, say) will never poll again.
    if (dispatcher.alive)
      for (const slot of await liveSlots(this.db)) {
        if (slot.state === "assigned" || now - slot.createdAt.getTime() < GONE_GRACE_MS) continue;
        // One whose end this process will hear of is ended then, saying how (slotExited).
        if (dispatcher.tracks?.(poolKey(slot.id)) || dispatcher.alive(poolKey(slot.id))) continue;
        if (
          await moveSlot(this.db, slot.id, ["starting", "ready"], { state: "ended", endReason: "its runner is gone" })
        )
          this.deps.log.info({ slot: slot.id }, "a pooled runner is gone; it will be replaced");
      }
    // An Actions job may wait in GitHub's queue for a runner: it has as long to claim as a session's job.
    const claimWithinMs = dispatcher.alive ? config.heartbeatTimeoutMs : config.claimTimeoutMs;
    const overdue = await overdueSlots(
      this.db,
      new Date(now - config.heartbeatTimeoutMs),
      new Date(now - claimWithinMs),
      new Date(now - config.pool.maxAgeMs),
    );
    for (const slot of overdue) {
      if (slot.state === "assigned") {
        await this.missed(slot.id, "its runner went silent");
        continue;
      }
      const silent = slot.heartbeatAt
        ? slot.heartbeatAt.getTime() < now - config.heartbeatTimeoutMs
        : slot.createdAt.getTime() < now - claimWithinMs;
      const why = silent
        ? slot.heartbeatAt
          ? "the runner went silent"
          : "its runner never claimed it"
        : "recycled: older than INSPECT_SNAPSHOT_INTERVAL";
      const ended = await moveSlot(this.db, slot.id, ["starting", "ready"], { state: "ended", endReason: why });
      if (!ended) continue;
      this.deps.log.info({ slot: slot.id }, why);
      // A silent runner is stopped; an expired one is told at its next poll and hands its checkout back.
      if (silent) this.stopRunner(ended);
      else this.bus.wake(poolKey(slot.id));
    }
  }

  /** Bring every active repository up to INSPECT_POOL_SIZE waiting slots, INSPECT_POOL_MAX in all. */
  private async refill(): Promise<void> {
    const { config } = this.deps;
    const active = await this.activeRepos();
    const live = await liveSlots(this.db);
    let total = live.length;
    for (const repositoryId of active) {
      let waiting = live.filter(
        (s) => s.repositoryId === repositoryId && s.state !== "assigned" && s.purpose !== "rebuild",
      ).length;
      while (waiting < config.pool.size && total < config.pool.max && !this.closed) {
        if (!this.failing.mayTry(repositoryId)) break;
        const repo = await getRepository(this.db, repositoryId);
        if (!repo) break;
        if (!(await this.startSlot(repo, "warming a sandbox for"))) break;
        waiting++;
        total++;
      }
    }
  }

  /** Stop a slot's runner (a local process, or an Actions job's workflow run), in the background. */
  private stopRunner(slot: SlotRow): void {
    const { dispatcher } = this.deps;
    if (dispatcher.stopPool) this.deps.run(`stop pooled runner ${slot.id}`, async () => dispatcher.stopPool!(slot));
  }

  private async startSlot(repo: RepositoryRow, what: string, purpose: SlotPurpose = "pool"): Promise<string | null> {
    const id = newSessionId();
    const { dispatcher } = this.deps;
    // Actions jobs prove themselves with OIDC, bound to the slot's dispatch: no claim token.
    const claimToken = dispatcher.usesClaimTokens ? randomToken() : null;
    await insertSlot(this.db, {
      id,
      repositoryId: repo.id,
      baseBranch: repo.defaultBranch,
      claimTokenHash: claimToken ? sha256(claimToken) : null,
      purpose,
    });
    try {
      const started = await dispatcher.dispatchPool!({ slotId: id, claimToken });
      this.deps.log.info({ slot: id }, `${what} ${repo.fullName}`);
      // The job's claim is checked against the workflow run GitHub said it started; not recorded
      // (a database blip), the claim asks GitHub about the job's run instead.
      if (started?.githubRunId)
        await recordSlotRun(this.db, id, started.githubRunId).catch((err) =>
          this.deps.log.warn({ slot: id, err }, "could not record the pooled job's workflow run"),
        );
      return id;
    } catch (err) {
      await moveSlot(this.db, id, ["starting"], { state: "ended", endReason: "could not start its runner" });
      this.failing.failed(repo.id);
      this.deps.log.warn({ err, repo: repo.fullName }, "could not start a pooled runner");
      return null;
    }
  }
}

/** The dispatcher's and the bus's key for a slot's runner. */
function poolKey(slotId: string): string {
  return `pool-${slotId}`;
}

function cloneUrl(config: Config, repo: RepositoryRow): string {
  return repo.localPath ?? `${config.github.webUrl}/${repo.fullName}.git`;
}
