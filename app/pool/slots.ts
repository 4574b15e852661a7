/** The pool_slots table (see app/db/schema.ts): each change of state is one conditional update. */
import { and, desc, eq, gt, inArray, isNull, lt, max, ne, or } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { isUniqueViolation } from "../db/errors.js";
import { spendOidcToken, type ClaimBinding } from "../db/runs.js";
import { poolSlots, repositories, sessions } from "../db/schema.js";

export type SlotRow = typeof poolSlots.$inferSelect;
export type SlotState = "starting" | "ready" | "assigned" | "handed" | "ended";
/** pool: kept ready for a session; rebuild: prepared from the default branch, then handed back as the snapshot. */
export type SlotPurpose = "pool" | "rebuild";

/** States that hold (or are about to hold) a sandbox. */
const LIVE: SlotState[] = ["starting", "ready", "assigned"];

export async function insertSlot(
  db: Db,
  values: { id: string; repositoryId: number; baseBranch: string; claimTokenHash: string | null; purpose: SlotPurpose },
): Promise<SlotRow> {
  const [row] = await db.insert(poolSlots).values(values).returning();
  return row!;
}

export async function getSlot(db: Db, id: string): Promise<SlotRow | undefined> {
  const [row] = await db.select().from(poolSlots).where(eq(poolSlots.id, id));
  return row;
}

/** The one-time claim: the claim token is spent, the slot token recorded. */
export async function claimSlot(
  db: Db,
  id: string,
  claimTokenHash: string,
  tokenHash: string,
): Promise<SlotRow | undefined> {
  const now = new Date();
  const [row] = await db
    .update(poolSlots)
    .set({ tokenHash, claimTokenHash: null, claimedAt: now, heartbeatAt: now })
    .where(and(eq(poolSlots.id, id), eq(poolSlots.state, "starting"), eq(poolSlots.claimTokenHash, claimTokenHash)))
    .returning();
  return row;
}

/** The workflow run GitHub answered the slot's dispatch with (`actions` mode). */
export async function recordSlotRun(db: Db, id: string, githubRunId: number): Promise<void> {
  await db
    .update(poolSlots)
    .set({ githubRunId })
    .where(and(eq(poolSlots.id, id), isNull(poolSlots.githubRunId)));
}

export type SlotClaimOutcome =
  { ok: true; slot: SlotRow } | { ok: false; reason: "taken" | "token_used" | "workflow_run_used" };

class Rollback extends Error {
  constructor(readonly reason: "taken" | "token_used") {
    super(reason);
  }
}

/**
 * An Actions job's claim of its slot, in one transaction: the OIDC token's jti is recorded
 * (refused when already there, on any replica) and the slot is marked claimed by that workflow
 * run (refused when the slot names another run, or that run claimed another slot). A refusal
 * records nothing.
 */
export async function claimSlotWithOidc(
  db: Db,
  id: string,
  tokenHash: string,
  binding: ClaimBinding,
): Promise<SlotClaimOutcome> {
  const now = new Date();
  try {
    return await db.transaction(async (tx) => {
      if (!(await spendOidcToken(tx, binding))) throw new Rollback("token_used");
      const [row] = await tx
        .update(poolSlots)
        .set({ tokenHash, claimTokenHash: null, claimedAt: now, heartbeatAt: now, githubRunId: binding.githubRunId })
        .where(
          and(
            eq(poolSlots.id, id),
            eq(poolSlots.state, "starting"),
            isNull(poolSlots.tokenHash),
            or(isNull(poolSlots.githubRunId), eq(poolSlots.githubRunId, binding.githubRunId)),
          ),
        )
        .returning();
      if (!row) throw new Rollback("taken");
      return { ok: true, slot: row } as const;
    });
  } catch (err) {
    if (err instanceof Rollback) return { ok: false, reason: err.reason };
    if (isUniqueViolation(err, "pool_slots_github_run_id")) return { ok: false, reason: "workflow_run_used" };
    throw err;
  }
}

export async function findClaimedSlot(db: Db, id: string, tokenHash: string): Promise<SlotRow | undefined> {
  const [row] = await db
    .select()
    .from(poolSlots)
    .where(and(eq(poolSlots.id, id), eq(poolSlots.tokenHash, tokenHash)));
  return row;
}

/** A poll: the runner is alive; `ready` moves a starting slot to ready. */
export async function touchSlot(db: Db, id: string, ready: boolean): Promise<void> {
  const now = new Date();
  await db.update(poolSlots).set({ heartbeatAt: now }).where(eq(poolSlots.id, id));
  if (ready)
    await db
      .update(poolSlots)
      .set({ state: "ready", readyAt: now })
      .where(and(eq(poolSlots.id, id), eq(poolSlots.state, "starting")));
}

/**
 * Take a ready slot of the repository, prepared from `baseBranch`, heard from since `freshSince`
 * and younger than `bornAfter`, for a session's queued run: one update, so two sessions never
 * take the same slot. `usable` may refuse a candidate (a runner process known to be gone).
 */
export async function takeReadySlot(
  db: Db,
  q: { repositoryId: number; baseBranch: string; freshSince: Date; bornAfter: Date; sessionId: string; runId: number },
  usable: (slot: SlotRow) => boolean,
): Promise<SlotRow | undefined> {
  const candidates = await db
    .select()
    .from(poolSlots)
    .where(
      and(
        eq(poolSlots.repositoryId, q.repositoryId),
        eq(poolSlots.state, "ready"),
        eq(poolSlots.baseBranch, q.baseBranch),
        gt(poolSlots.heartbeatAt, q.freshSince),
        gt(poolSlots.createdAt, q.bornAfter),
      ),
    )
    .orderBy(desc(poolSlots.readyAt));
  for (const slot of candidates) {
    if (!usable(slot)) continue;
    const [row] = await db
      .update(poolSlots)
      .set({ state: "assigned", sessionId: q.sessionId, runId: q.runId, assignedAt: new Date() })
      .where(and(eq(poolSlots.id, slot.id), eq(poolSlots.state, "ready")))
      .returning();
    if (row) return row;
  }
  return undefined;
}

/** Move a slot from one state to another (null: it was not in `from`). */
export async function moveSlot(
  db: Db,
  id: string,
  from: SlotState[],
  to: Partial<Pick<SlotRow, "sessionId" | "runId" | "assignedAt">> & { state: SlotState; endReason?: string },
): Promise<SlotRow | undefined> {
  const [row] = await db
    .update(poolSlots)
    .set({ ...to, ...(to.state === "ended" ? { endedAt: new Date() } : {}) })
    .where(and(eq(poolSlots.id, id), inArray(poolSlots.state, from)))
    .returning();
  return row;
}

export async function liveSlots(db: Db): Promise<SlotRow[]> {
  return db.select().from(poolSlots).where(inArray(poolSlots.state, LIVE));
}

/**
 * Live slots that should go: silent since `silentSince`, never claimed (no heartbeat yet) since
 * `unclaimedSince`, or (ready or starting) born before `bornBefore`.
 */
export async function overdueSlots(
  db: Db,
  silentSince: Date,
  unclaimedSince: Date,
  bornBefore: Date,
): Promise<SlotRow[]> {
  return db
    .select()
    .from(poolSlots)
    .where(
      and(
        inArray(poolSlots.state, LIVE),
        or(
          lt(poolSlots.heartbeatAt, silentSince),
          and(isNull(poolSlots.heartbeatAt), lt(poolSlots.createdAt, unclaimedSince)),
          and(ne(poolSlots.state, "assigned"), lt(poolSlots.createdAt, bornBefore)),
        ),
      ),
    );
}

/** Repositories with a session created since `since`, the most recently used first. */
export async function recentlyActiveRepos(db: Db, since: Date): Promise<number[]> {
  const last = max(sessions.createdAt);
  const rows = await db
    .select({ id: sessions.repositoryId, last })
    .from(sessions)
    .where(gt(sessions.createdAt, since))
    .groupBy(sessions.repositoryId)
    .orderBy(desc(last))
    .limit(100);
  return rows.map((r) => r.id);
}

/** Repositories named in INSPECT_POOL_REPOS (owner/name or local path) that Inspect knows. */
export async function namedRepos(db: Db, names: string[]): Promise<number[]> {
  if (!names.length) return [];
  const rows = await db
    .select({ id: repositories.id })
    .from(repositories)
    .where(or(inArray(repositories.fullName, names), inArray(repositories.localPath, names)));
  return rows.map((r) => r.id);
}
