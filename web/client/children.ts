/** The session page's list of child sessions, kept current from `child.updated` events. */
import type { EventDataOf } from "../../protocol/events.js";
import { sessionPath } from "../links.js";
import { badge, h, safeHref } from "./dom.js";

type Child = EventDataOf<"child.updated">;

export class ChildrenList {
  private readonly rows = new Map<string, HTMLElement>();

  constructor(
    private readonly box: HTMLElement,
    private readonly list: HTMLElement,
  ) {}

  /** A later event for the same child replaces its row in place. */
  update(child: Child): void {
    const row = h(
      "li",
      { "data-child": child.sessionId },
      badge(child.status),
      h("a", { href: sessionPath(child.sessionId) }, child.title),
      h("span", { class: "muted" }, child.repository),
      child.prUrl && child.prNumber ? h("a", { href: safeHref(child.prUrl) }, `PR #${child.prNumber}`) : null,
    );
    const old = this.rows.get(child.sessionId);
    if (old) old.replaceWith(row);
    else this.list.append(row);
    this.rows.set(child.sessionId, row);
    this.box.classList.remove("hidden");
  }
}
