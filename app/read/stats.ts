/**
 * The stats figures (protocol/stats.ts) for a window of calendar days in the viewer's time
 * zone, over the repositories the caller has already checked the viewer may read.
 * Rows dated after now (clock skew between replicas and the database) count in the totals but
 * get no day of their own.
 */
import { and, eq, gte, inArray, or } from "drizzle-orm";
import type { CostFigure, Stats, StatsRow, StatsWindow } from "../../protocol/stats.js";
import type { Db } from "../db/client.js";
import { prompts, sessions } from "../db/schema.js";
import { addDays, dayOf, startOfDay } from "./days.js";
import { loadHistory, type History } from "./stats-history.js";

export interface StatsQuery {
  repositoryIds: number[];
  days: StatsWindow;
  timeZone: string;
  /** owner/name when filtered to one repository (its id is then the only one). */
  repository?: string | null;
  now?: Date;
}

/** Wrote a prompt this recently, or has a session at work: prompting now. */
const ACTIVE_WINDOW_MS = 60 * 60 * 1000;

export async function sessionStats(db: Db, q: StatsQuery): Promise<Stats> {
  const now = q.now ?? new Date();
  const to = dayOf(now, q.timeZone);
  const from = addDays(to, -(q.days - 1));
  const history = await loadHistory(db, q.repositoryIds, startOfDay(from, q.timeZone));
  const figures = computeStats(history, { from, to, timeZone: q.timeZone });
  return {
    days: q.days,
    timeZone: q.timeZone,
    from,
    to,
    repository: q.repository ?? null,
    generatedAt: now.toISOString(),
    ...figures,
    promptingNow: await promptingNow(db, q.repositoryIds, now),
  };
}

/** Who is prompting now, whatever the window: it is the live figure. */
async function promptingNow(db: Db, repositoryIds: number[], now: Date): Promise<number> {
  if (repositoryIds.length === 0) return 0;
  const rows = await db
    .selectDistinct({ login: prompts.authorLogin })
    .from(prompts)
    .innerJoin(sessions, eq(sessions.id, prompts.sessionId))
    .where(
      and(
        inArray(sessions.repositoryId, repositoryIds),
        or(
          gte(prompts.createdAt, new Date(now.getTime() - ACTIVE_WINDOW_MS)),
          inArray(sessions.status, ["starting", "running"]),
        ),
      ),
    );
  return rows.length;
}

type Figures = Omit<Stats, "days" | "timeZone" | "from" | "to" | "repository" | "generatedAt" | "promptingNow">;

const emptyCost = (): CostFigure => ({ usd: 0, unpricedPrompts: 0, pricedPrompts: 0 });
const emptyRow = (): StatsRow => ({ sessions: 0, prompts: 0, prsOpened: 0, prsMerged: 0, cost: emptyCost() });

function computeStats(h: History, w: { from: string; to: string; timeZone: string }): Figures {
  const perDay = new Map<string, Stats["perDay"][number]>();
  for (let day = w.from; day <= w.to; day = addDays(day, 1))
    perDay.set(day, { day, sessions: 0, prompts: 0, prsMerged: 0, costUsd: 0 });
  const bucket = (t: Date) => perDay.get(dayOf(t, w.timeZone));

  const people = new Map<string, StatsRow>();
  const repos = new Map<string, StatsRow>();
  const row = (map: Map<string, StatsRow>, key: string) => {
    let r = map.get(key);
    if (!r) map.set(key, (r = emptyRow()));
    return r;
  };
  const cost = emptyCost();
  const repoOf = new Map(h.sessions.map((s) => [s.id, s.repository]));
  let opened = 0;
  let merged = 0;
  let closed = 0;
  const toMerge: number[] = [];
  for (const s of h.sessions) {
    const b = bucket(s.createdAt);
    if (b) b.sessions++;
    const rows = [row(repos, s.repository), ...(s.createdBy ? [row(people, s.createdBy)] : [])];
    for (const r of rows) r.sessions++;
    if (s.prNumber !== null) {
      opened++;
      for (const r of rows) r.prsOpened++;
    }
    if (s.prMergedAt) {
      merged++;
      for (const r of rows) r.prsMerged++;
      const mb = bucket(s.prMergedAt);
      if (mb) mb.prsMerged++;
      if (s.prOpenedAt && s.prMergedAt >= s.prOpenedAt) toMerge.push(s.prMergedAt.getTime() - s.prOpenedAt.getTime());
    } else if (s.prClosedAt) closed++;
  }

  const firstPrompt = new Map<string, number>();
  for (const p of h.prompts) {
    const t = p.createdAt.getTime();
    if (!firstPrompt.has(p.sessionId) || t < firstPrompt.get(p.sessionId)!) firstPrompt.set(p.sessionId, t);
    const b = bucket(p.createdAt);
    if (b) b.prompts++;
    const rows = [row(people, p.author), row(repos, repoOf.get(p.sessionId)!)];
    for (const r of rows) r.prompts++;
    if (!p.usage) continue; // never ran: no cost, known or not
    for (const c of [cost, ...rows.map((r) => r.cost)]) addCost(c, p.usage.cost);
    if (b && p.usage.cost !== undefined) b.costUsd += p.usage.cost;
  }
  const toPr = h.sessions
    .filter((s) => s.prOpenedAt && firstPrompt.has(s.id))
    .map((s) => s.prOpenedAt!.getTime() - firstPrompt.get(s.id)!)
    .filter((ms) => ms >= 0);

  return {
    sessions: h.sessions.length,
    prompts: h.prompts.length,
    prsOpened: opened,
    prsMerged: merged,
    prsClosedUnmerged: closed,
    mergeRate: opened ? merged / opened : null,
    medianPromptToPrMs: median(toPr),
    medianPrToMergeMs: median(toMerge),
    cost,
    costPerMergedPr: merged
      ? { usd: cost.usd / merged, unpricedPrompts: cost.unpricedPrompts, pricedPrompts: cost.pricedPrompts }
      : null,
    perDay: [...perDay.values()],
    people: [...people].map(([login, r]) => ({ login, ...r })),
    repositories: [...repos].map(([fullName, r]) => ({ fullName, ...r })),
  };
}

function addCost(c: CostFigure, usd: number | undefined) {
  if (usd === undefined) c.unpricedPrompts++;
  else {
    c.usd += usd;
    c.pricedPrompts++;
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
