/** Stats: numbers and a chart (server-drawn SVG, no script needed). */
import { Layout } from "../layout.js";
import type { Stats, Viewer } from "../deps.js";

function duration(ms: number | null): string {
  if (ms === null) return "–";
  const m = Math.round(ms / 60_000);
  if (m < 60) return `${m} min`;
  return `${(m / 60).toFixed(1)} h`;
}

/** Sessions (blue) and prompts (green) per day. */
function DailyChart(props: { days: Stats["days"] }) {
  const w = 640;
  const h = 180;
  const pad = 24;
  const max = Math.max(1, ...props.days.flatMap((d) => [d.sessions, d.prompts]));
  const slot = (w - pad) / Math.max(1, props.days.length);
  const bar = Math.max(2, slot / 2 - 2);
  const y = (v: number) => h - pad - ((h - 2 * pad) * v) / max;
  return (
    <svg class="chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label="Sessions and prompts per day">
      <text x="0" y="12">
        {max}
      </text>
      {props.days.map((d, i) => {
        const x = pad + i * slot;
        return (
          <g>
            <rect class="bar" x={x} y={y(d.sessions)} width={bar} height={h - pad - y(d.sessions)}>
              <title>{`${d.day}: ${d.sessions} sessions`}</title>
            </rect>
            <rect class="bar2" x={x + bar + 1} y={y(d.prompts)} width={bar} height={h - pad - y(d.prompts)}>
              <title>{`${d.day}: ${d.prompts} prompts`}</title>
            </rect>
            {i % Math.ceil(props.days.length / 7) === 0 && (
              <text x={x} y={h - 6}>
                {d.day.slice(5)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

export function StatsPage(props: { viewer: Viewer; stats: Stats; days: number }) {
  const s = props.stats;
  const cards: [string, string, string][] = [
    ["sessions", "Sessions", String(s.sessions)],
    ["prompts", "Prompts", String(s.prompts)],
    ["active", "Active users now", String(s.activeUsersNow)],
    ["prs-opened", "PRs opened", String(s.prsOpened)],
    ["prs-merged", "PRs merged", String(s.prsMerged)],
    ["merge-rate", "Merge rate", s.mergeRate === null ? "–" : `${Math.round(s.mergeRate * 100)}%`],
    ["median", "Median prompt → PR", duration(s.medianPromptToPrMs)],
  ];
  return (
    <Layout title="Stats" viewer={props.viewer}>
      <h1>Stats</h1>
      <p class="muted">Last {props.days} days, repositories you can read.</p>
      <div class="stats">
        {cards.map(([id, label, value]) => (
          <div class="card" id={`stat-${id}`}>
            <b>{value}</b>
            <span class="muted">{label}</span>
          </div>
        ))}
      </div>
      <h2>Per day</h2>
      <p class="muted">
        <span style="color:var(--accent)">■</span> sessions <span style="color:var(--ok)">■</span> prompts
      </p>
      <DailyChart days={s.days} />
    </Layout>
  );
}
