/**
 * Stats: is Inspect worth it? The figures for a window (7/14/30/90 days) and repository,
 * a per-day chart (server-drawn SVG, values also as a table), and sortable per-person and
 * per-repository tables. stats.js keeps "prompting now" live and adopts the browser's time zone.
 */
import { STATS_WINDOWS, type Stats } from "../../protocol/stats.js";
import { Layout } from "../layout.js";
import type { Viewer } from "../deps.js";
import { DailyChart } from "./stats-chart.js";
import { StatsTable, costText, type Sort } from "./stats-tables.js";

export interface StatsPageProps {
  viewer: Viewer;
  stats: Stats;
  /** Repositories the viewer can read, for the filter. */
  repos: string[];
  sortPeople: Sort;
  sortRepos: Sort;
  /** The page's query as it is (days, repo, tz, sorts), to build links that change one thing. */
  params: Record<string, string>;
}

function duration(ms: number | null): string {
  if (ms === null) return "–";
  const m = Math.round(ms / 60_000);
  if (m < 60) return `${m} min`;
  if (m < 48 * 60) return `${(m / 60).toFixed(1)} h`;
  return `${(m / 1440).toFixed(1)} days`;
}

const STYLE = `
.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end}.filters label{display:grid;gap:2px;font-size:13px}
.filters select{width:auto}
.chart .grid{stroke:var(--line);stroke-width:1}.chart .cost-line{stroke:var(--warn);stroke-width:2}.chart .cost-dot{fill:var(--warn)}
.chart-figure{margin:0}.legend .key{display:inline-block;width:10px;height:10px;border-radius:2px;vertical-align:middle}
.key-sessions{background:var(--accent)}.key-merged{background:var(--ok)}.key-cost{background:var(--warn)}
table.data{border-collapse:collapse;width:100%;margin:8px 0;font-variant-numeric:tabular-nums}
table.data th,table.data td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right}
table.data th:first-child,table.data td:first-child{text-align:left}
.table-wrap{overflow-x:auto}
`;

export function StatsPage(props: StatsPageProps) {
  const s = props.stats;
  const href = (change: Record<string, string>) => `/stats?${new URLSearchParams({ ...props.params, ...change })}`;
  const cards: [string, string, string][] = [
    ["sessions", "Sessions", String(s.sessions)],
    ["prompts", "Prompts", String(s.prompts)],
    ["prompting-now", "Prompting now", String(s.promptingNow)],
    ["prs-opened", "PRs opened", String(s.prsOpened)],
    ["prs-merged", "PRs merged", String(s.prsMerged)],
    ["prs-closed", "Closed unmerged", String(s.prsClosedUnmerged)],
    ["merge-rate", "Merge rate", s.mergeRate === null ? "–" : `${Math.round(s.mergeRate * 100)}%`],
    ["median-pr", "Median prompt → PR", duration(s.medianPromptToPrMs)],
    ["median-merge", "Median PR → merge", duration(s.medianPrToMergeMs)],
    ["cost", "Total cost", costText(s.cost)],
    ["cost-per-pr", "Cost per merged PR", s.costPerMergedPr ? costText(s.costPerMergedPr) : "–"],
  ];
  return (
    <Layout title="Stats" viewer={props.viewer} scripts={["/assets/stats.js"]}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1>Stats</h1>
      <form class="filters" method="get" action="/stats" aria-label="Window and repository">
        <label>
          Window
          <select name="days" id="stats-days">
            {STATS_WINDOWS.map((d) => (
              <option value={String(d)} selected={d === s.days}>
                Last {d} days
              </option>
            ))}
          </select>
        </label>
        <label>
          Repository
          <select name="repo" id="stats-repo">
            <option value="" selected={!s.repository}>
              All you can read
            </option>
            {props.repos.map((r) => (
              <option value={r} selected={r === s.repository}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <input type="hidden" name="tz" value={s.timeZone} />
        <button type="submit">Show</button>
      </form>
      <p class="muted" id="stats-window">
        {s.from} to {s.to} ({s.timeZone}), {s.repository ?? "repositories you can read"}. Sessions count by the day they
        started; cost is what the models' pricing says, and prompts on an unpriced model are counted as unknown.
      </p>
      <div class="stats">
        {cards.map(([id, label, value]) => (
          <div class="card" id={`stat-${id}`}>
            <b aria-live={id === "prompting-now" ? "polite" : undefined}>{value}</b>
            <span class="muted">{label}</span>
          </div>
        ))}
      </div>
      <h2>Per day</h2>
      <DailyChart days={s.perDay} />
      <h2>People</h2>
      <div class="table-wrap" tabindex={0} role="region" aria-label="People">
        <StatsTable
          id="people-table"
          caption="Per person: sessions they started, prompts they wrote, their sessions' PRs, their prompts' cost"
          nameLabel="Person"
          rows={s.people.map((p) => ({ ...p, name: p.login }))}
          sort={props.sortPeople}
          href={(sort) => href({ people: `${sort.key}-${sort.dir}` })}
        />
      </div>
      <h2>Repositories</h2>
      <div class="table-wrap" tabindex={0} role="region" aria-label="Repositories">
        <StatsTable
          id="repos-table"
          caption="Per repository"
          nameLabel="Repository"
          rows={s.repositories.map((r) => ({ ...r, name: r.fullName }))}
          sort={props.sortRepos}
          href={(sort) => href({ repos: `${sort.key}-${sort.dir}` })}
        />
      </div>
      <p class="muted">
        The same figures as JSON: <a href={`/api/stats?${new URLSearchParams(props.params)}`}>/api/stats</a>.
      </p>
    </Layout>
  );
}
