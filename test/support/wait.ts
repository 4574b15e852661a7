/** Small helpers the end-to-end tests share: polling for a condition, picking events by type. */
import type { SessionEvent } from "../../protocol/events.js";

/** Poll until `check` returns something truthy; fail with `what` (and the check's last error) otherwise. */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The events of one type, typed. */
export const ofType = <T extends SessionEvent["type"]>(log: SessionEvent[], type: T) =>
  log.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
