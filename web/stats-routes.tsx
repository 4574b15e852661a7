/**
 * GET /stats (the page) and GET /api/stats (the same figures as JSON, for dashboards): one
 * query parser, one access rule — only repositories the viewer can read count, and asking
 * for another one is answered as if it did not exist.
 */
import type { Context } from "hono";
import { z } from "zod";
import { STATS_WINDOWS, type Stats, type StatsWindow } from "../protocol/stats.js";
import type { RepositoryView, Viewer, WebDeps } from "./deps.js";
import { ErrorPage } from "./layout.js";
import { StatsPage } from "./pages/stats.js";
import { parseSort } from "./pages/stats-tables.js";

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** Bad values fall back to the defaults: a stale bookmark still shows a page. */
const Query = z.object({
  days: z.coerce
    .number()
    .refine((d): d is StatsWindow => (STATS_WINDOWS as readonly number[]).includes(d))
    .catch(14),
  repo: z.string().trim().max(200).optional().catch(undefined),
  tz: z.string().max(64).refine(isTimeZone).catch("UTC").default("UTC"),
  people: z.string().max(40).optional().catch(undefined),
  repos: z.string().max(40).optional().catch(undefined),
});
type Query = z.infer<typeof Query>;

type Readable = (viewer: Viewer, repos: RepositoryView[]) => Promise<Set<number>>;

async function figures(
  deps: WebDeps,
  viewer: Viewer,
  q: Query,
  readable: Readable,
): Promise<{ stats: Stats; repos: string[] } | null> {
  const all = await deps.read.repositories();
  const ok = await readable(viewer, all);
  const visible = all.filter((r) => ok.has(r.id));
  let ids = visible.map((r) => r.id);
  let repository: string | null = null;
  if (q.repo) {
    const one = visible.find((r) => r.fullName === q.repo);
    if (!one) return null;
    ids = [one.id];
    repository = one.fullName;
  }
  const stats = await deps.read.stats({ repositoryIds: ids, days: q.days as StatsWindow, timeZone: q.tz, repository });
  return { stats, repos: visible.map((r) => r.fullName) };
}

const NOT_FOUND = "unknown repository, or you cannot read it";

export async function statsPage(c: Context, deps: WebDeps, viewer: Viewer, readable: Readable) {
  const q = Query.parse(c.req.query());
  const found = await figures(deps, viewer, q, readable);
  if (!found) return c.html(<ErrorPage viewer={viewer} title="Not found" message={NOT_FOUND} />, 404);
  const params: Record<string, string> = { days: String(found.stats.days), tz: q.tz };
  if (q.repo) params.repo = q.repo;
  if (q.people) params.people = q.people;
  if (q.repos) params.repos = q.repos;
  return c.html(
    <StatsPage
      viewer={viewer}
      stats={found.stats}
      repos={found.repos}
      sortPeople={parseSort(q.people, { key: "prsMerged", dir: "desc" })}
      sortRepos={parseSort(q.repos, { key: "sessions", dir: "desc" })}
      params={params}
    />,
  );
}

export async function statsApi(c: Context, deps: WebDeps, viewer: Viewer, readable: Readable) {
  const found = await figures(deps, viewer, Query.parse(c.req.query()), readable);
  if (!found) return c.json({ error: NOT_FOUND }, 404);
  return c.json(found.stats, 200, { "cache-control": "no-store" });
}
