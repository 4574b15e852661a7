/**
 * Cost and tokens on the session page: each finished prompt's on its card, and the session's
 * total above the timeline (live: it moves with every prompt.finished). Unknown pricing reads
 * "unknown", never $0 (protocol/usage.ts).
 */
import type { Usage } from "../../protocol/events.js";
import { addUsage, emptyTotal, sumUsage, usageLine } from "../../protocol/usage.js";
import { h } from "./dom.js";

export class UsageView {
  private readonly total = emptyTotal();
  private readonly seen = new Set<number>();
  private line: HTMLElement | null = null;

  constructor(private readonly timeline: HTMLElement) {}

  /** A prompt finished with `usage` (a replayed event counts once). */
  finished(promptId: number, card: HTMLElement | undefined, usage: Usage | undefined): void {
    if (!usage || this.seen.has(promptId)) return;
    this.seen.add(promptId);
    const one = sumUsage([usage]);
    card?.append(
      h("div", { class: "muted usage", title: usage.model ? `model ${usage.model}` : undefined }, usageLine(one)),
    );
    addUsage(this.total, usage);
    if (!this.line) {
      this.line = h("p", { class: "muted", id: "session-usage" });
      this.timeline.before(this.line);
    }
    this.line.textContent = `Session total: ${usageLine(this.total)}`;
  }
}
