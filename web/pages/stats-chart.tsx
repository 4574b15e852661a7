/**
 * Per day: sessions and merged PRs as bars (count axis, left), cost as a line (dollar axis,
 * right). Server-drawn SVG, no script. For screen readers (and anyone who wants the numbers)
 * the same values are a table right below it.
 */
import { formatUsd } from "../../protocol/usage.js";
import type { Stats } from "../../protocol/stats.js";

const W = 720;
const H = 220;
const PAD = { left: 34, right: 52, top: 14, bottom: 26 };

/** A round step that gives at most ~4 gridlines. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

export function DailyChart(props: { days: Stats["perDay"] }) {
  const days = props.days;
  const countMax = niceMax(Math.max(1, ...days.flatMap((d) => [d.sessions, d.prsMerged])));
  const costMax = niceMax(Math.max(0, ...days.map((d) => d.costUsd)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, days.length);
  const bar = Math.max(1.5, Math.min(18, slot / 2 - 1));
  const y = (v: number, max: number) => PAD.top + plotH - (plotH * v) / max;
  const labelEvery = Math.ceil(days.length / 8);
  const line = days
    .map((d, i) => `${(PAD.left + i * slot + slot / 2).toFixed(1)},${y(d.costUsd, costMax).toFixed(1)}`)
    .join(" ");
  const totalSessions = days.reduce((n, d) => n + d.sessions, 0);
  const totalMerged = days.reduce((n, d) => n + d.prsMerged, 0);
  const totalCost = days.reduce((n, d) => n + d.costUsd, 0);
  return (
    <figure class="chart-figure">
      <svg
        class="chart"
        id="daily-chart"
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby="daily-chart-title daily-chart-desc"
      >
        <title id="daily-chart-title">Sessions, merged pull requests and cost per day</title>
        <desc id="daily-chart-desc">
          {`${days.length} days: ${totalSessions} sessions, ${totalMerged} merged pull requests, ${formatUsd(totalCost)} known cost. The table below lists each day.`}
        </desc>
        {[0, 0.5, 1].map((f) => (
          <g>
            <line
              class="grid"
              x1={PAD.left}
              x2={W - PAD.right}
              y1={y(f * countMax, countMax)}
              y2={y(f * countMax, countMax)}
            />
            <text x={PAD.left - 4} y={y(f * countMax, countMax) + 3} text-anchor="end">
              {String(Math.round(f * countMax * 10) / 10)}
            </text>
            <text x={W - PAD.right + 4} y={y(f * costMax, costMax) + 3}>
              {formatUsd(f * costMax)}
            </text>
          </g>
        ))}
        {days.map((d, i) => {
          const x = PAD.left + i * slot + slot / 2 - bar;
          return (
            <g>
              <rect
                class="bar"
                x={x}
                y={y(d.sessions, countMax)}
                width={bar}
                height={PAD.top + plotH - y(d.sessions, countMax)}
              >
                <title>{`${d.day}: ${d.sessions} sessions`}</title>
              </rect>
              <rect
                class="bar2"
                x={x + bar}
                y={y(d.prsMerged, countMax)}
                width={bar}
                height={PAD.top + plotH - y(d.prsMerged, countMax)}
              >
                <title>{`${d.day}: ${d.prsMerged} merged PRs`}</title>
              </rect>
              {i % labelEvery === 0 && (
                <text x={PAD.left + i * slot + slot / 2} y={H - 8} text-anchor="middle">
                  {d.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
        <polyline class="cost-line" points={line} fill="none" />
        {days.map((d, i) => (
          <circle class="cost-dot" cx={PAD.left + i * slot + slot / 2} cy={y(d.costUsd, costMax)} r="2.5">
            <title>{`${d.day}: ${formatUsd(d.costUsd)}`}</title>
          </circle>
        ))}
      </svg>
      <figcaption class="muted legend">
        <span class="key key-sessions" aria-hidden="true"></span> sessions{" "}
        <span class="key key-merged" aria-hidden="true"></span> merged PRs (left axis){" "}
        <span class="key key-cost" aria-hidden="true"></span> cost (right axis, priced prompts)
      </figcaption>
      <details>
        <summary>Values per day</summary>
        <div class="table-wrap" tabindex={0} role="region" aria-label="Values per day">
          <table class="data" id="daily-values">
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Sessions</th>
                <th scope="col">Prompts</th>
                <th scope="col">Merged PRs</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {days.map((d) => (
                <tr>
                  <th scope="row">{d.day}</th>
                  <td>{d.sessions}</td>
                  <td>{d.prompts}</td>
                  <td>{d.prsMerged}</td>
                  <td>{formatUsd(d.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
