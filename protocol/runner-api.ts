/**
 * The runner API contract between the control plane (app/runner-api) and the
 * runtime on the runner (sandbox/). Both sides import these schemas.
 *
 * All routes are under `/api/runner`, JSON, `Authorization: Bearer <token>`:
 *
 *   POST /claim                              bearer = Actions OIDC token (or the local runner token)
 *        body ClaimRequest → ClaimResponse   the session token below is used for everything else
 *   GET  /sessions/:id/next?wait=<seconds>&current=<promptId>&seen=<promptId>
 *                                            long-poll → NextResponse; `current` is the prompt the runner is
 *                                            working on and `seen` the newest it was handed (0: none), so a
 *                                            prompt whose handout or end report was lost is not left running
 *   POST /sessions/:id/events                body AppendEventsRequest → AppendEventsResponse
 *   POST /sessions/:id/prompts/:pid/done     body PromptDoneRequest
 *   POST /sessions/:id/pushed                body PushedRequest
 *   POST /sessions/:id/heartbeat             body {}
 *   POST /sessions/:id/exit                  body ExitRequest
 *
 * The warm pool: a pooled runner claims a slot, not a session, and holds no session token and no
 * write token until a session is assigned to it; from then on it is that session's runner.
 *
 *   POST /pool/claim                         bearer = Actions OIDC token (bound to the slot's dispatch) or the local
 *                                            runner token; body PoolClaimRequest → PoolClaimResponse
 *   GET  /pool/:slotId/next?wait=<seconds>&ready=0|1
 *                                            bearer = the slot token; long-poll → PoolNextResponse
 *                                            (`ready`: the sandbox is prepared and may be assigned)
 */
import { z } from "zod";
import { Author, CommitRef, RunnerEventSchema, Usage } from "./events.js";

export const RUNNER_API_PREFIX = "/api/runner";

/** The sandbox's browser (sandbox/mcp/browser.ts): loopback always, these hosts besides (INSPECT_BROWSER_HOSTS). */
const BrowserSpec = z.object({ allowHosts: z.array(z.string().max(260)).max(50) });

export const ClaimRequest = z.object({ sessionId: z.string().min(1).max(64) });
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const SessionSpec = z.object({
  id: z.string(),
  repo: z.object({ owner: z.string(), name: z.string(), fullName: z.string() }),
  /** https URL for GitHub repositories, a filesystem path for local ones. */
  cloneUrl: z.string(),
  baseBranch: z.string(),
  headBranch: z.string(),
  /** True when the head branch already exists on the remote (PR threads, later runs). */
  headExists: z.boolean(),
  /** Repo-scoped, short-lived installation token; null for local repositories. */
  gitToken: z.string().nullable(),
  gitTokenExpiresAt: z.string().nullable(),
  /** The identity commits are made as the committer (the bot). */
  committer: z.object({ name: z.string(), email: z.string() }),
  /** The GitHub host's no-reply e-mail domain for commit authors (`users.noreply.<host>`); absent: github.com's. */
  noreplyDomain: z.string().optional(),
  /** `provider/model`, or null for OpenCode's configured default. */
  model: z.string().nullable(),
  /** Operator OpenCode config (providers, MCP servers), secrets already resolved by the app. */
  opencodeConfig: z.record(z.string(), z.unknown()),
  idleTimeoutMs: z.number().int().positive(),
  heartbeatIntervalMs: z.number().int().positive(),
  /**
   * After this long without reaching the control plane the runner commits and pushes what it has,
   * then exits (the control plane has given the run up by then). Absent: 3 × the heartbeat interval.
   */
  heartbeatTimeoutMs: z.number().int().positive().optional(),
  /** A turn running longer is ended; its work so far is committed and pushed (INSPECT_TURN_TIMEOUT). */
  turnTimeoutMs: z.number().int().positive().optional(),
  setupTimeoutMs: z.number().int().positive(),
  sessionUrl: z.string(),
  /** The repository's own OpenCode config may add MCP servers, plugins and providers (INSPECT_TRUST_REPO_CONFIG). */
  trustRepoConfig: z.boolean().optional(),
  /** Offer the agent a headless browser if the runner has Chromium (INSPECT_BROWSER); absent: none. */
  browser: BrowserSpec.optional(),
  /** USD caps (INSPECT_SESSION_BUDGET_USD, INSPECT_PROMPT_BUDGET_USD); the repository may lower them. Absent: none. */
  budgets: z
    .object({ sessionUsd: z.number().positive().optional(), promptUsd: z.number().positive().optional() })
    .optional(),
});
export type SessionSpec = z.infer<typeof SessionSpec>;

export const ClaimResponse = z.object({ sessionToken: z.string(), session: SessionSpec });
export type ClaimResponse = z.infer<typeof ClaimResponse>;

export const PromptHandout = z.object({
  id: z.number().int(),
  /** What the agent is given: request and context fenced as untrusted data. */
  text: z.string(),
  /** One line for the commit subject. */
  title: z.string(),
  author: Author,
  model: z.string().nullable(),
  /** USD the session's earlier prompts cost (their priced part), for the session budget. */
  sessionCostUsd: z.number().nonnegative().optional(),
});
export type PromptHandout = z.infer<typeof PromptHandout>;

export const NextResponse = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("prompt"), prompt: PromptHandout }),
  /** Abort the running turn and report it `stopped`; the next poll says whether to wait or exit. */
  z.object({ kind: z.literal("stop"), promptId: z.number().int().nullable() }),
  /** The session is over (archived, stopped for good): exit now. */
  z.object({ kind: z.literal("exit"), reason: z.string() }),
  /** Nothing yet: poll again. */
  z.object({ kind: z.literal("none") }),
]);
export type NextResponse = z.infer<typeof NextResponse>;

export const AppendEventsRequest = z.object({ events: z.array(RunnerEventSchema).min(1).max(500) });
export type AppendEventsRequest = z.infer<typeof AppendEventsRequest>;
export const AppendEventsResponse = z.object({ lastSeq: z.number().int() });

export const PromptDoneRequest = z.object({
  status: z.enum(["done", "failed", "stopped"]),
  commits: z.array(CommitRef).max(100).default([]),
  error: z.string().max(20_000).optional(),
  usage: Usage.optional(),
  changedFiles: z.number().int().nonnegative().optional(),
  /** A short summary of what the turn did (the agent's last message), for PR bodies. */
  summary: z.string().max(20_000).optional(),
});
export type PromptDoneRequest = z.infer<typeof PromptDoneRequest>;

export const PushedRequest = z.object({
  branch: z.string().min(1).max(255),
  sha: z.string().regex(/^[0-9a-f]{7,64}$/),
});
export type PushedRequest = z.infer<typeof PushedRequest>;

export const ExitRequest = z.object({
  reason: z.enum(["idle", "stopped", "exit", "error"]),
  error: z.string().max(20_000).optional(),
});
export type ExitRequest = z.infer<typeof ExitRequest>;

export const PoolClaimRequest = z.object({ slotId: z.string().min(1).max(64) });
export type PoolClaimRequest = z.infer<typeof PoolClaimRequest>;

/** What a pooled runner prepares from: the repository at its default branch, no session yet. */
export const PoolSpec = z.object({
  slotId: z.string(),
  repo: z.object({ owner: z.string(), name: z.string(), fullName: z.string() }),
  cloneUrl: z.string(),
  baseBranch: z.string(),
  /**
   * `rebuild`: only bring the repository's snapshot to the newest default branch — fetch, setup
   * script, hand back — without booting OpenCode; never assigned a session. Absent: `pool`.
   */
  purpose: z.enum(["pool", "rebuild"]).optional(),
  /** Read-only and short-lived (null for local repositories): enough to clone or fetch, never to push. */
  gitToken: z.string().nullable(),
  gitTokenExpiresAt: z.string().nullable(),
  model: z.string().nullable(),
  opencodeConfig: z.record(z.string(), z.unknown()),
  heartbeatTimeoutMs: z.number().int().positive(),
  setupTimeoutMs: z.number().int().positive(),
  trustRepoConfig: z.boolean().optional(),
  browser: BrowserSpec.optional(),
});
export type PoolSpec = z.infer<typeof PoolSpec>;

export const PoolClaimResponse = z.object({ slotToken: z.string(), pool: PoolSpec });
export type PoolClaimResponse = z.infer<typeof PoolClaimResponse>;

export const PoolNextResponse = z.discriminatedUnion("kind", [
  /** A session: from now on the runner is its runner, with this claim. */
  z.object({ kind: z.literal("assign"), claim: ClaimResponse }),
  /** Recycled, replaced or shut down: exit now. */
  z.object({ kind: z.literal("exit"), reason: z.string() }),
  z.object({ kind: z.literal("none") }),
]);
export type PoolNextResponse = z.infer<typeof PoolNextResponse>;
