/**
 * The in-process event bus: every event persisted for a session is emitted
 * here once, after it is durable. Listeners (room forwarding, GitHub
 * reporting, long-poll wake-ups) subscribe; none can fail the append.
 */
import type { SessionEvent } from "../../protocol/events.js";

export type SessionListener = (sessionId: string, events: SessionEvent[]) => void;

export class SessionBus {
  private readonly listeners = new Set<SessionListener>();
  private readonly waiters = new Map<string, Set<() => void>>();

  on(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(sessionId: string, events: SessionEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(sessionId, events);
      } catch {
        /* a listener's failure is its own; the events are already stored */
      }
    }
    this.wake(sessionId);
  }

  /** Wake long-polls on this session (new prompt, stop, status change). */
  wake(sessionId: string): void {
    const set = this.waiters.get(sessionId);
    if (!set) return;
    this.waiters.delete(sessionId);
    for (const fn of set) fn();
  }

  /** Resolves on the next wake-up of this session or after `ms`, whichever comes first. */
  wait(sessionId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(sessionId);
      if (!set) this.waiters.set(sessionId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set!.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
