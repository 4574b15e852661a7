/**
 * Calendar days in a time zone, for the stats window and its per-day buckets: a session at
 * 23:30 in Berlin belongs to that evening's day for a Berlin viewer, not to the next UTC day.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
function parts(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

function wallClock(t: Date, tz: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts(tz).formatToParts(t)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** YYYY-MM-DD of the instant in the zone. */
export function dayOf(t: Date, tz: string): string {
  const w = wallClock(t, tz);
  return `${w.year}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
}

/** The day `n` calendar days after `day` (negative: before). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The instant the day begins in the zone (its midnight, DST included). */
export function startOfDay(day: string, tz: string): Date {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const target = Date.UTC(y, m - 1, d);
  let guess = target;
  // The zone's offset at the guess moves the guess; twice settles it across a DST change.
  for (let i = 0; i < 2; i++) {
    const w = wallClock(new Date(guess), tz);
    const asUtc = Date.UTC(w.year!, w.month! - 1, w.day!, w.hour!, w.minute!, w.second!);
    guess += target - asUtc;
  }
  return new Date(guess);
}
