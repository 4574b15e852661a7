/**
 * Cost and tokens on the session page, live: each prompt's on its card (climbing after every
 * model call while it runs, final once it finished), and the session's total above the
 * timeline. Unknown pricing reads "unknown", never $0 (protocol/usage.ts).
 */
import type { Usage } from "../../protocol/events.js";
import { sumUsage, usageLine } from "../../protocol/usage.js";
import { h } from "./dom.js";

export class UsageView {
  /** The latest usage per prompt; a finished prompt's is final. */
  private readonly byPrompt = new Map<number, { usage: Usage; final: boolean; el: HTMLElement | null }>();
  private line: HTMLElement | null = null;

  constructor(private readonly timeline: HTMLElement) {}

  /** The running prompt's usage so far. */
  running(promptId: number, card: HTMLElement | undefined, usage: Usage): void {
    if (this.byPrompt.get(promptId)?.final) return;
    this.show(promptId, card, usage, false);
  }

  /** A prompt finished (with usage, when it ran). */
  finished(promptId: number, card: HTMLElement | undefined, usage: Usage | undefined): void {
    if (usage) this.show(promptId, card, usage, true);
  }

  private show(promptId: number, card: HTMLElement | undefined, usage: Usage, final: boolean) {
    const entry = this.byPrompt.get(promptId) ?? { usage, final, el: null };
    entry.usage = usage;
    entry.final = final;
    if (!entry.el && card) {
      entry.el = h("div", { class: "muted usage" });
      card.append(entry.el);
    }
    if (entry.el) {
      entry.el.textContent = `${usageLine(sumUsage([usage]))}${final ? "" : " so far"}`;
      if (usage.model) entry.el.title = `model ${usage.model}`;
    }
    this.byPrompt.set(promptId, entry);
    if (!this.line) {
      this.line = h("p", { class: "muted", id: "session-usage" });
      this.timeline.before(this.line);
    }
    this.line.textContent = `Session total: ${usageLine(sumUsage([...this.byPrompt.values()].map((e) => e.usage)))}`;
  }
}
