// Printing a session's events as they come: `run` (until its prompt finishes) and
// `logs --follow` (until the session ends). Readable lines, or JSON lines with --json.
import { call, sessionRoute } from "./client.mjs";
import { formatEvent } from "./format-event.mjs";
import { json, out } from "./output.mjs";
import { Progress, phaseAfter } from "./progress.mjs";

const ENDED = ["completed", "failed", "stopped", "archived"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Print events from `since` on; `done(event)` returns an exit code to stop there, or
 * undefined to go on. Without `follow`, stop at the end of what is there now.
 */
export async function printEvents(base, id, { json: asJson, follow, done = () => undefined, since = 0 }) {
  const progress = new Progress();
  const state = { streaming: null };
  let phase = "starting the sandbox";
  try {
    for (;;) {
      const { events, next } = await call(base, "GET", sessionRoute(id, `/events?after=${since}`));
      for (const event of events) {
        since = Math.max(since, event.seq);
        if (asJson) json(event);
        else {
          const line = formatEvent(event, state);
          if (line !== null) {
            progress.clear();
            out(line);
          }
        }
        phase = phaseAfter(event, phase);
        const code = done(event);
        if (code !== undefined) {
          if (!asJson && state.streaming) out("\n");
          return code;
        }
      }
      // The log comes in pages: without --follow, stop once the last one is in.
      if (!follow && (next === null || next === undefined || events.length === 0)) return 0;
      if (!follow) continue;
      // Streaming text ends its line later: the indicator would write over it meanwhile.
      if (!asJson) progress.set(state.streaming ? null : phase);
      await sleep(events.length ? 100 : 400);
    }
  } finally {
    progress.stop();
  }
}

/** Exit code once a followed session has ended: 0 if it completed. */
export function sessionEnded(event) {
  if (event.type !== "session.status" || !ENDED.includes(event.data.status)) return undefined;
  return event.data.status === "completed" || event.data.status === "archived" ? 0 : 1;
}
