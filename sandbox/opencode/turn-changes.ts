/**
 * What a turn changed in the checkout, file by file, whichever tool did it (edit, write,
 * patch, bash): git compares the work tree with the commit the turn started from, through an
 * index of our own (so neither the agent's `git add` nor its commits mislead it), and
 * file-diff.ts renders each file. Every git call runs like the commit does — in the session
 * jail, as the sandbox user — so a symlink the agent planted cannot make us read what the
 * agent could not.
 *
 * `edited(path)` refreshes one file while the turn runs (OpenCode's file.edited); `finish()`
 * sweeps the whole tree at the end, sends what changed since, and the turn's summary.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { event, FILES_CHANGED_MAX, type FileChange, type NewEvent } from "../../protocol/events.js";
import type { Jail } from "../jail/jail.js";
import { git } from "../git/run.js";
import { DIFF_LIMITS, fileEdit, type DiffLimits, type FileEdit } from "./file-diff.js";

/** git's empty tree: the base of a repository without commits. */
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
/** Diff text a turn may send in all; later files are listed without it (the event API takes 2 MB a request). */
const TURN_DIFF_BYTES = 1024 * 1024;
/** Files whose content is read for a diff; the rest are counted only. */
const FILES_WITH_DIFF = 100;
/** Past this many changed lines a file's diff is not even computed. */
const LINES_TO_DIFF = 50_000;

interface Changed {
  path: string;
  change: FileChange;
  additions: number;
  deletions: number;
  binary: boolean;
}

export class TurnChanges {
  private base: string | null = null;
  private index = "";
  private chain: Promise<unknown> = Promise.resolve();
  /** What was last sent per path, to send a file again only when its diff changed. */
  private readonly sent = new Map<string, string>();
  /** Diff bytes of the latest version of each file: together they stay within TURN_DIFF_BYTES. */
  private readonly diffBytes = new Map<string, number>();
  private failed = false;

  constructor(
    private readonly dir: string,
    private readonly jail: Jail | null | undefined,
    private readonly emit: (events: NewEvent[]) => void,
    private readonly log: (line: string) => void = () => undefined,
    private readonly limits: DiffLimits = DIFF_LIMITS,
  ) {}

  /**
   * Remember where the turn starts; call before the prompt is sent. `after`: a pooled sandbox's
   * sync, which moves HEAD before the turn may write (see permission-policy.ts).
   */
  start(after: Promise<unknown> = Promise.resolve()): Promise<void> {
    return this.queue(async () => {
      await after;
      const head = await this.git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).catch(() => "");
      this.base = head.trim() || EMPTY_TREE;
      this.index = path.join((await this.git(["rev-parse", "--absolute-git-dir"])).trim(), "inspect-turn.index");
      await this.git(["read-tree", this.base], true);
      // Stat data for every file, so each refresh rehashes only what changed.
      await this.git(["update-index", "-q", "--refresh"], true).catch(() => undefined);
    });
  }

  /** A file changed during the turn: send its diff so far (or, with diffs off, just its name). */
  async edited(file: string): Promise<void> {
    await this.queue(
      async () => this.send(await this.changes(file)),
      () => this.emit([event("file.edited", { path: file })]),
    );
  }

  /** The turn's edits are over: send every file whose diff is new, then the summary. */
  async finish(): Promise<void> {
    await this.queue(async () => {
      const all = await this.changes();
      await this.send(all);
      const listed = all.slice(0, FILES_CHANGED_MAX);
      if (all.length > 0)
        this.emit([
          event("files.changed", {
            files: listed.map((c) => ({
              path: c.path,
              change: c.change,
              additions: c.additions,
              deletions: c.deletions,
              ...(c.binary ? { binary: true } : {}),
            })),
            ...(all.length > listed.length ? { more: all.length - listed.length } : {}),
          }),
        ]);
    });
    await this.close();
  }

  /** Remove our index (a stopped turn's edits are thrown away: nothing to report). */
  async close(): Promise<void> {
    await this.chain;
    const index = this.index;
    this.index = "";
    // Only ever inside the checkout: the git dir is the agent's to point elsewhere.
    if (index && index.startsWith(this.dir + path.sep)) await rm(index, { force: true }).catch(() => undefined);
  }

  /** One thing at a time (they share the index); a failure is logged and the turn goes on without diffs. */
  private queue<T>(work: () => Promise<T>, otherwise?: () => void): Promise<T | undefined> {
    const next = this.chain.then(async () => {
      if (!this.failed) {
        try {
          return await work();
        } catch (error) {
          this.failed = true;
          this.log(`file diffs are off for this turn: ${(error as Error).message}`);
        }
      }
      otherwise?.();
      return undefined;
    });
    this.chain = next;
    return next;
  }

  private git(args: string[], withIndex = false): Promise<string> {
    return git(args, {
      cwd: this.dir,
      jail: this.jail,
      env: withIndex ? { GIT_INDEX_FILE: this.index } : undefined,
      timeoutMs: 60_000,
    });
  }

  /** Changed files (all, or the one asked about), in git's order. */
  private async changes(only?: string): Promise<Changed[]> {
    if (!this.base) return [];
    await this.git(["add", "--all"], true);
    const spec = only ? ["--", `:(literal)${only}`] : [];
    const diff = ["diff", "--cached", "--no-renames", "--no-ext-diff", "--no-textconv", "-z"];
    const [names, stats] = await Promise.all([
      this.git([...diff, "--name-status", this.base, ...spec], true),
      this.git([...diff, "--numstat", this.base, ...spec], true),
    ]);
    const counts = new Map<string, { additions: number; deletions: number; binary: boolean }>();
    for (const entry of stats.split("\0").filter(Boolean)) {
      const [add, del, file] = entry.split("\t");
      if (file === undefined) continue;
      counts.set(file, { additions: Number(add) || 0, deletions: Number(del) || 0, binary: add === "-" });
    }
    const out: Changed[] = [];
    const fields = names.split("\0");
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const [status, file] = [fields[i]!, fields[i + 1]!];
      const change: FileChange = status === "A" ? "added" : status === "D" ? "deleted" : "modified";
      const c = counts.get(file) ?? { additions: 0, deletions: 0, binary: false };
      out.push({ path: file, change, ...c });
    }
    return out;
  }

  private async send(changed: Changed[]): Promise<void> {
    const events: NewEvent[] = [];
    for (const [i, c] of changed.entries()) {
      const edit = await this.render(c, i < FILES_WITH_DIFF);
      const key = JSON.stringify(edit);
      if (this.sent.get(c.path) === key) continue;
      this.sent.set(c.path, key);
      events.push(event("file.edited", edit));
    }
    if (events.length) this.emit(events);
  }

  private async render(c: Changed, withDiff: boolean): Promise<FileEdit> {
    const counted = { path: c.path, change: c.change, additions: c.additions, deletions: c.deletions };
    if (c.binary) return fileEdit({ ...counted, binary: true }, this.limits);
    let used = 0;
    for (const [file, bytes] of this.diffBytes) if (file !== c.path) used += bytes;
    if (!withDiff || used >= TURN_DIFF_BYTES || c.additions + c.deletions > LINES_TO_DIFF) return fileEdit(counted);
    const blob = (rev: string) => this.git(["cat-file", "blob", `${rev}:${c.path}`], true);
    let edit: FileEdit;
    try {
      edit = fileEdit(
        {
          ...counted,
          ...(c.change !== "added" ? { before: await blob(this.base!) } : {}),
          ...(c.change !== "deleted" ? { after: await blob("") } : {}),
        },
        this.limits,
      );
    } catch {
      // Not a blob (a submodule's commit, say): its name and counts only.
      return fileEdit(counted);
    }
    this.diffBytes.set(c.path, edit.diff?.length ?? 0);
    return edit;
  }
}
