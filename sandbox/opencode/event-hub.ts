/**
 * One subscription to OpenCode's event stream for the server's whole life, fanned out to
 * whoever listens (the running turn). Subscribing per turn would race: events of a fast
 * turn can arrive before a fresh subscription is live.
 */
import type { Event, OpencodeClient } from "@opencode-ai/sdk/v2";

type Listener = (ev: Event) => void;

export class EventHub {
  private readonly listeners = new Set<Listener>();
  private readonly abort = new AbortController();
  private connected!: () => void;
  /** Resolves once the stream delivered its first event (server.connected). */
  readonly ready = new Promise<void>((resolve) => (this.connected = resolve));

  constructor(private readonly client: OpencodeClient) {}

  start(): this {
    void this.run();
    return this;
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.abort.abort();
    this.listeners.clear();
  }

  private async run() {
    try {
      const sub = await this.client.event.subscribe(undefined, {
        signal: this.abort.signal,
        // A dead server is noticed through its process exit; don't hammer it meanwhile.
        sseMaxRetryAttempts: 50,
        sseDefaultRetryDelay: 200,
        sseMaxRetryDelay: 1_000,
      } as never);
      for await (const ev of sub.stream) {
        this.connected();
        for (const listener of [...this.listeners]) {
          try {
            listener(ev);
          } catch {
            // A listener's bug must not end the stream for the others.
          }
        }
      }
    } catch {
      // Aborted on close, or the server went away (reported via its exit).
    }
  }
}
