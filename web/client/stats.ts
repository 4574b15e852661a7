/**
 * The stats page, live: "prompting now" is refreshed from /api/stats every 20 s (the rest of
 * the page is a report, it can wait for a reload), and days follow the browser's time zone
 * (the server draws UTC days until told otherwise).
 */
const url = new URL(location.href);
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (zone && !url.searchParams.has("tz") && zone !== "UTC") {
  url.searchParams.set("tz", zone);
  location.replace(url.toString());
}

const nowCard = document.querySelector("#stat-prompting-now b");
async function refresh() {
  const res = await fetch(`/api/stats?${url.searchParams}`, { headers: { accept: "application/json" } }).catch(
    () => null,
  );
  if (!res?.ok || !nowCard) return;
  const body = (await res.json()) as { promptingNow?: unknown };
  if (typeof body.promptingNow === "number") nowCard.textContent = String(body.promptingNow);
}
setInterval(() => void refresh(), 20_000);
