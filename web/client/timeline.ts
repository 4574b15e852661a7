/**
 * Renders session events into the page, in seq order. Each event kind updates its
 * own element (a prompt card, a tool row, an assistant text part), so a later event
 * for the same thing changes it in place instead of adding a line.
 */
import {
  promptSourceLabel,
  type Author,
  type EventDataOf,
  type SessionEvent,
  type SessionStatus,
} from "../../protocol/events.js";
import { ChangesView, commitLink } from "./changes.js";
import { avatar, badge, diffBlock, h, safeHref } from "./dom.js";
import { plural } from "./plural.js";
import { UsageView } from "./usage-view.js";

export interface QueuedPrompt {
  promptId: number;
  author: Author;
  text: string;
}

export interface TimelineHooks {
  onStatus(status: SessionStatus): void;
  onQueueChange(queued: QueuedPrompt[]): void;
  onPullRequest(url: string, number: number): void;
  /** A child session this session's agent spawned, as it is now. */
  onChild?(child: EventDataOf<"child.updated">): void;
  /** Where the page fetches one of the session's artifacts (a screenshot). */
  artifactSrc?(artifactId: number): string;
}

export class Timeline {
  private readonly prompts = new Map<
    number,
    { card: HTMLElement; status: HTMLElement; data: QueuedPrompt; state: string }
  >();
  private readonly texts = new Map<string, HTMLElement>();
  private readonly tools = new Map<string, HTMLDetailsElement>();
  private setup: { box: HTMLDetailsElement; pre: HTMLElement; summary: HTMLElement } | null = null;
  private readonly changes: ChangesView;
  private readonly usage: UsageView;

  constructor(
    private readonly root: HTMLElement,
    private readonly hooks: TimelineHooks,
    /** The repository on GitHub (commit links); null for a local one. */
    private readonly repoUrl: string | null = null,
  ) {
    this.changes = new ChangesView(root, repoUrl);
    this.usage = new UsageView(root);
  }

  apply(e: SessionEvent): void {
    switch (e.type) {
      case "session.status":
        this.hooks.onStatus(e.data.status);
        if (e.data.reason && ["failed", "stopped"].includes(e.data.status))
          this.line(`Session ${e.data.status}: ${e.data.reason}`, e.data.status === "failed" ? "error" : "");
        return;
      case "prompt.queued": {
        const d = e.data;
        const status = badge("queued");
        const card = h(
          "article",
          { class: "card prompt", id: `prompt-${d.promptId}`, "data-prompt": String(d.promptId) },
          h(
            "div",
            { class: "row" },
            avatar(d.author.login, d.author.avatarUrl),
            h("b", {}, d.author.login),
            h("span", { class: "muted" }, `via ${promptSourceLabel(d.source)}`),
            status,
          ),
          h("div", { class: "text" }, d.text),
        );
        this.root.append(card);
        this.prompts.set(d.promptId, {
          card,
          status,
          data: { promptId: d.promptId, author: d.author, text: d.text },
          state: "queued",
        });
        this.queueChanged();
        return;
      }
      case "prompt.started":
        this.changes.newTurn();
        this.setPromptState(e.data.promptId, "running");
        return;
      case "prompt.finished": {
        this.setPromptState(e.data.promptId, e.data.status);
        const p = this.prompts.get(e.data.promptId);
        if (e.data.error) this.line(e.data.error, "error");
        if (p && e.data.commits.length) {
          const files = e.data.changedFiles ? `, ${plural(e.data.changedFiles, "file")} changed` : "";
          p.card.append(h("div", { class: "muted" }, `${plural(e.data.commits.length, "commit")}${files}`));
        }
        this.usage.finished(e.data.promptId, p?.card, e.data.usage);
        return;
      }
      case "prompt.usage":
        this.usage.running(e.data.promptId, this.prompts.get(e.data.promptId)?.card, e.data.usage);
        return;
      case "prompt.cancelled":
        this.setPromptState(e.data.promptId, "cancelled");
        return;
      case "agent.text.delta":
        this.text(e.data.partId).textContent += e.data.delta;
        return;
      case "agent.text":
        this.text(e.data.partId).textContent = e.data.text;
        return;
      case "tool.call":
        this.tool(e.data);
        return;
      case "file.edited":
        this.changes.fileEdited(e.data);
        return;
      case "files.changed":
        this.changes.filesChanged(e.data);
        return;
      case "setup.output":
        this.setupBox().pre.append(e.data.text);
        return;
      case "setup.finished": {
        const s = this.setupBox();
        const ok = e.data.exitCode === 0 && !e.data.timedOut;
        s.summary.replaceChildren(
          h("span", { class: "name" }, "setup"),
          h(
            "span",
            { class: "title" },
            `.inspect/setup.sh ${e.data.timedOut ? "timed out" : `exited ${e.data.exitCode}`} (${(e.data.durationMs / 1000).toFixed(1)} s)`,
          ),
          badge(ok ? "done" : "failed"),
        );
        return;
      }
      case "git.commit": {
        const d = e.data;
        const line = h(
          "div",
          { class: "event commit" },
          `Committed ${d.sha.slice(0, 7)} ${d.message.split("\n")[0]} (${plural(d.files, "file")}, as ${d.author.name})`,
        );
        if (this.repoUrl) line.append(" · ", commitLink(this.repoUrl, d.sha, "on GitHub"));
        this.root.append(line);
        this.changes.committed(d.sha);
        return;
      }
      case "git.push": {
        const synced = e.data.synced;
        // Others pushed to the branch while the turn ran: say how the turn's work was put on top.
        const meanwhile = synced
          ? ` (${synced.theirs} ${synced.theirs === 1 ? "commit" : "commits"} pushed meanwhile by others; ${synced.how} onto ${synced.onto.slice(0, 7)})`
          : "";
        this.line(`Pushed ${e.data.branch} at ${e.data.sha.slice(0, 7)}${meanwhile}`);
        return;
      }
      case "pr.opened": {
        this.root.append(
          h(
            "div",
            { class: "event" },
            "Opened ",
            h("a", { href: safeHref(e.data.url) }, `pull request #${e.data.number}`),
            e.data.draft ? " (draft)" : "",
          ),
        );
        this.hooks.onPullRequest(e.data.url, e.data.number);
        return;
      }
      case "artifact.added": {
        const src = this.hooks.artifactSrc?.(e.data.artifactId);
        if (!src) return;
        this.root.append(
          h(
            "figure",
            { class: "event artifact", "data-artifact": String(e.data.artifactId) },
            h("img", { src, alt: `Screenshot ${e.data.name}`, loading: "lazy", style: "max-width:100%" }),
            h("figcaption", { class: "muted" }, h("a", { href: src }, e.data.name)),
          ),
        );
        return;
      }
      case "child.updated":
        this.hooks.onChild?.(e.data);
        return;
      case "error":
        this.line(e.data.message, "error");
        return;
    }
  }

  private line(text: string, cls = ""): void {
    this.root.append(h("div", { class: `event ${cls}` }, text));
  }

  private text(partId: string): HTMLElement {
    let el = this.texts.get(partId);
    if (!el) {
      el = h("div", { class: "assistant", "data-part": partId });
      this.root.append(el);
      this.texts.set(partId, el);
    }
    return el;
  }

  private tool(d: Extract<SessionEvent, { type: "tool.call" }>["data"]): void {
    let box = this.tools.get(d.callId);
    if (!box) {
      box = h("details", { class: "tool", "data-call": d.callId });
      this.root.append(box);
      this.tools.set(d.callId, box);
    }
    const body: Node[] = [];
    if (d.input) body.push(h("pre", { class: "input" }, d.input));
    if (d.output)
      body.push(
        d.tool === "edit" || d.output.startsWith("@@") || d.output.startsWith("---")
          ? diffBlock(d.output)
          : h("pre", { class: "output" }, d.output),
      );
    if (d.error) body.push(h("pre", { class: "output event error" }, d.error));
    box.replaceChildren(
      h(
        "summary",
        {},
        h("span", { class: "name" }, d.tool),
        h("span", { class: "title" }, d.title ?? ""),
        badge(d.status),
      ),
      ...body,
    );
  }

  private setupBox() {
    if (!this.setup) {
      const summary = h(
        "summary",
        {},
        h("span", { class: "name" }, "setup"),
        h("span", { class: "title" }, ".inspect/setup.sh"),
        badge("running"),
      );
      const pre = h("pre", {});
      const box = h("details", { class: "tool" }, summary, pre);
      this.root.append(box);
      this.setup = { box, pre, summary };
    }
    return this.setup;
  }

  private setPromptState(promptId: number, state: string): void {
    const p = this.prompts.get(promptId);
    if (!p) return;
    p.state = state;
    p.status.className = `badge s-${state}`;
    p.status.textContent = state;
    this.queueChanged();
  }

  private queueChanged(): void {
    this.hooks.onQueueChange([...this.prompts.values()].filter((p) => p.state === "queued").map((p) => p.data));
  }
}
