/**
 * The stats figures: what `GET /api/stats` answers (for dashboards) and what the stats page
 * shows. Sessions count by the day they started; merges by the day the merge webhook arrived;
 * cost by the day of the prompt that spent it. Days are calendar days in `timeZone`.
 */

export const STATS_WINDOWS = [7, 14, 30, 90] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

/** USD of the priced prompts, and how many prompts had no price (their cost is unknown). */
export interface CostFigure {
  usd: number;
  unpricedPrompts: number;
  pricedPrompts: number;
}

export interface StatsRow {
  sessions: number;
  prompts: number;
  prsOpened: number;
  prsMerged: number;
  cost: CostFigure;
}

export interface Stats {
  days: StatsWindow;
  timeZone: string;
  /** First and last day of the window (YYYY-MM-DD in timeZone). */
  from: string;
  to: string;
  /** owner/name when filtered to one repository. */
  repository: string | null;
  generatedAt: string;
  sessions: number;
  prompts: number;
  /** People who wrote a prompt in the last hour or whose session is working now. */
  promptingNow: number;
  prsOpened: number;
  prsMerged: number;
  prsClosedUnmerged: number;
  /** Merged ÷ opened; null without an opened PR. */
  mergeRate: number | null;
  medianPromptToPrMs: number | null;
  medianPrToMergeMs: number | null;
  cost: CostFigure;
  /** Total cost ÷ merged PRs; null without a merged PR. */
  costPerMergedPr: CostFigure | null;
  perDay: { day: string; sessions: number; prompts: number; prsMerged: number; costUsd: number }[];
  people: (StatsRow & { login: string })[];
  repositories: (StatsRow & { fullName: string })[];
}
