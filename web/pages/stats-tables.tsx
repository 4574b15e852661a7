/**
 * The per-person and per-repository tables. Sorting is a link per column header (the server
 * sorts; it works without script, and the URL says how the table is sorted), marked with
 * aria-sort for screen readers.
 */
import { formatCost } from "../../protocol/usage.js";
import type { CostFigure, StatsRow } from "../../protocol/stats.js";

const SORT_KEYS = ["name", "sessions", "prompts", "prsOpened", "prsMerged", "cost"] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export interface Sort {
  key: SortKey;
  dir: "asc" | "desc";
}

/** `cost-desc` → a Sort; anything else → the fallback. */
export function parseSort(raw: string | undefined, fallback: Sort): Sort {
  const [key, dir] = (raw ?? "").split("-");
  if (!SORT_KEYS.includes(key as SortKey) || (dir !== "asc" && dir !== "desc")) return fallback;
  return { key: key as SortKey, dir };
}

export const costText = (c: CostFigure) =>
  formatCost({ cost: c.usd, unpriced: c.unpricedPrompts, parts: c.pricedPrompts + c.unpricedPrompts });

type Row = StatsRow & { name: string };

function sortRows(rows: Row[], sort: Sort): Row[] {
  const value = (r: Row): number | string =>
    sort.key === "name" ? r.name.toLowerCase() : sort.key === "cost" ? r.cost.usd : r[sort.key];
  const sign = sort.dir === "asc" ? 1 : -1;
  // Ties keep a stable, readable order: by name.
  return [...rows].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x < y) return -sign;
    if (x > y) return sign;
    return a.name.localeCompare(b.name);
  });
}

const COLUMNS: [SortKey, string][] = [
  ["sessions", "Sessions"],
  ["prompts", "Prompts"],
  ["prsOpened", "PRs opened"],
  ["prsMerged", "PRs merged"],
  ["cost", "Cost"],
];

export function StatsTable(props: {
  id: string;
  caption: string;
  nameLabel: string;
  rows: Row[];
  sort: Sort;
  /** The page's URL with this table sorted as given. */
  href: (sort: Sort) => string;
}) {
  const header = (key: SortKey, label: string) => {
    const active = props.sort.key === key;
    // A first click sorts names A→Z and numbers largest first; a second click reverses.
    const next: Sort = active
      ? { key, dir: props.sort.dir === "asc" ? "desc" : "asc" }
      : { key, dir: key === "name" ? "asc" : "desc" };
    return (
      <th scope="col" aria-sort={active ? (props.sort.dir === "asc" ? "ascending" : "descending") : undefined}>
        <a href={props.href(next)} data-sort={key}>
          {label}
          {active ? (props.sort.dir === "asc" ? " ▲" : " ▼") : ""}
        </a>
      </th>
    );
  };
  return (
    <table class="data sortable" id={props.id}>
      <caption class="sr-only">{props.caption}</caption>
      <thead>
        <tr>
          {header("name", props.nameLabel)}
          {COLUMNS.map(([key, label]) => header(key, label))}
        </tr>
      </thead>
      <tbody>
        {props.rows.length === 0 && (
          <tr>
            <td colspan={6} class="muted">
              Nothing in this window.
            </td>
          </tr>
        )}
        {sortRows(props.rows, props.sort).map((r) => (
          <tr>
            <th scope="row">{r.name}</th>
            <td>{r.sessions}</td>
            <td>{r.prompts}</td>
            <td>{r.prsOpened}</td>
            <td>{r.prsMerged}</td>
            <td>{costText(r.cost)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
