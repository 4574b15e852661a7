/**
 * What each turn changed: one collapsible diff per file (updated in place while the turn
 * edits it again), and the turn's "files changed" summary with +/− per file. A diff cut short
 * says how many lines it left out and, once the turn's commit is known and the repository is
 * on GitHub, links to the commit, which has them all.
 */
import type { EventDataOf } from "../../protocol/events.js";
import { commitUrl } from "../links.js";
import { diffBlock, h } from "./dom.js";
import { plural } from "./plural.js";

type FileEdited = EventDataOf<"file.edited">;
type FilesChanged = EventDataOf<"files.changed">;

const CHANGE_LABEL = { added: "new", modified: "edit", deleted: "deleted" } as const;

export class ChangesView {
  private turn = 0;
  private files = new Map<string, { box: HTMLDetailsElement; id: string }>();
  /** Places waiting for this turn's commit link. */
  private awaitingCommit: HTMLElement[] = [];
  private next = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly repoUrl: string | null,
  ) {}

  /** A new prompt started: its files get boxes of their own. */
  newTurn(): void {
    this.turn++;
    this.files = new Map();
    this.awaitingCommit = [];
  }

  fileEdited(d: FileEdited): void {
    let file = this.files.get(d.path);
    if (!file) {
      const id = `diff-${this.turn}-${this.next++}`;
      file = { box: h("details", { class: "tool file", id, "data-file": d.path }), id };
      this.files.set(d.path, file);
      this.root.append(file.box);
    }
    const body: Node[] = [];
    if (d.binary) body.push(h("p", { class: "muted pad" }, "Binary file, not shown"));
    else if (d.diff) body.push(diffBlock(d.diff));
    if (d.moreLines) body.push(this.more(d.moreLines, Boolean(d.diff)));
    file.box.replaceChildren(
      h(
        "summary",
        {},
        h("span", { class: "name" }, d.change ? CHANGE_LABEL[d.change] : "edit"),
        h("span", { class: "title" }, d.path),
        d.additions !== undefined ? stat(d.additions, d.deletions ?? 0) : null,
      ),
      ...body,
    );
  }

  filesChanged(d: FilesChanged): void {
    let adds = 0;
    let dels = 0;
    const items = d.files.map((f) => {
      adds += f.additions;
      dels += f.deletions;
      const target = this.files.get(f.path);
      const name = target ? h("a", { href: `#${target.id}` }, f.path) : h("span", {}, f.path);
      // Following the link opens the file's diff.
      if (target) name.addEventListener("click", () => (target.box.open = true));
      return h("li", {}, name, f.binary ? h("span", { class: "muted" }, "binary") : stat(f.additions, f.deletions));
    });
    const count = d.files.length + (d.more ?? 0);
    const link = h("span", { class: "commit-link" });
    this.awaitingCommit.push(link);
    this.root.append(
      h(
        "section",
        { class: "card changes", "aria-label": "Files changed" },
        h("div", { class: "row" }, h("b", {}, `${plural(count, "file")} changed`), stat(adds, dels), link),
        h("ul", { class: "files" }, ...items),
        d.more ? h("p", { class: "muted" }, `and ${plural(d.more, "more file")}`) : null,
      ),
    );
  }

  /** The turn's commit: complete the links that were waiting for it. */
  committed(sha: string): void {
    if (!this.repoUrl) return;
    for (const el of this.awaitingCommit) el.replaceChildren(commitLink(this.repoUrl, sha, el.dataset.label));
    this.awaitingCommit = [];
  }

  private more(lines: number, shownSome: boolean): HTMLElement {
    const el = h(
      "p",
      { class: "muted pad more" },
      `${plural(lines, shownSome ? "more line" : "changed line")} not shown. `,
    );
    const link = h("span", { class: "commit-link", "data-label": "See the full diff on GitHub" });
    el.append(link);
    this.awaitingCommit.push(link);
    return el;
  }
}

export function commitLink(repoUrl: string, sha: string, label = "view the commit on GitHub"): HTMLElement {
  return h("a", { href: commitUrl(repoUrl, sha) }, label);
}

/** "+3 −1", read out as "3 added, 1 removed". */
function stat(additions: number, deletions: number): HTMLElement {
  return h(
    "span",
    { class: "stat" },
    h("span", { class: "plus" }, `+${additions}`),
    h("span", { class: "sr-only" }, " added,"),
    " ",
    h("span", { class: "minus" }, `−${deletions}`),
    h("span", { class: "sr-only" }, " removed"),
  );
}
