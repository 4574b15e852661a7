/**
 * One prompt, start to finish: run the OpenCode turn as the prompting user, then commit,
 * push and report. Every outcome ends in POST /prompts/:id/done — done, failed (with an
 * error event saying why) or stopped.
 */
import type { CommitRef, NewEvent, Usage } from "../protocol/events.js";
import { errorEvent } from "./error-event.js";
import { effectiveBudgets, overBudget } from "./budget/budgets.js";
import { INSPECT_CONFIG, type InspectConfig } from "./inspect-config.js";
import type { PromptDoneRequest, PromptHandout, SessionSpec } from "../protocol/runner-api.js";
import type { EventSink } from "./event-sink.js";
import { interruptionOf } from "./interruption.js";
import { commitMessage } from "./git/author.js";
import { turnAuthor } from "./git/author-local.js";
import type { Checkout } from "./git/checkout.js";
import { commitAll, discardChanges, pushBranch } from "./git/commit.js";
import type { Workspace } from "./opencode/agent.js";
import { runTurn } from "./opencode/turn.js";
import type { Redactor } from "./redact.js";
import type { RunnerClient } from "./runner-client.js";

export interface PromptContext {
  api: RunnerClient;
  spec: SessionSpec;
  ws: Workspace;
  checkout: Checkout;
  /**
   * The repository's `.inspect/config.yml` from the base branch (its budgets count here). A pooled
   * sandbox's first turn may start before it is read (after the sync): its caps then apply from
   * the moment they are known — they can only lower the operator's.
   */
  repoConfig: Promise<InspectConfig>;
  prompt: PromptHandout;
  emit: (events: NewEvent[]) => void;
  sink: EventSink;
  stop: AbortSignal;
  crashed: Promise<string>;
  log: (line: string) => void;
  redact: Redactor;
  options: { maxModelRetries?: number };
}

export async function runPrompt(ctx: PromptContext): Promise<void> {
  const { prompt, spec, checkout } = ctx;
  // A budget cuts the turn short as the runner's own interruption: the work is kept.
  // Already read (a fresh sandbox, or any later turn): its caps count from the start.
  const known = await Promise.race([ctx.repoConfig, new Promise<null>((r) => setImmediate(() => r(null)))]);
  let budgets = effectiveBudgets(spec.budgets, known?.budgets ?? null, INSPECT_CONFIG);
  const overspent = new AbortController();
  const stop = AbortSignal.any([ctx.stop, overspent.signal]);
  let shown = "";
  let spent = 0;
  const watchSpend = (usd: number, usage?: Usage) => {
    spent = usd;
    const over = overspent.signal.aborted ? null : overBudget(budgets, prompt.sessionCostUsd ?? 0, usd);
    if (over) overspent.abort(over);
    // The page shows the cost climbing: once per model call (message updates while streaming repeat it).
    const now = usage && JSON.stringify(usage);
    if (usage && now !== shown && usage.inputTokens + usage.outputTokens > 0) {
      shown = now!;
      ctx.emit([{ type: "prompt.usage", data: { promptId: prompt.id, usage } }]);
    }
  };
  watchSpend(0);
  if (!known)
    void ctx.repoConfig.then((config) => {
      budgets = effectiveBudgets(spec.budgets, config.budgets, INSPECT_CONFIG);
      watchSpend(spent);
    });
  const turn = await runTurn({
    client: ctx.ws.client,
    hub: ctx.ws.hub,
    sessionID: ctx.ws.sessionID,
    directory: checkout.dir,
    text: prompt.text,
    model: prompt.model ?? spec.model,
    emit: ctx.emit,
    stop,
    crashed: ctx.crashed,
    maxRetries: ctx.options.maxModelRetries,
    jail: checkout.jail,
    log: ctx.log,
    onSpend: watchSpend,
  });
  ctx.log(`prompt ${prompt.id} turn ${turn.status}${turn.error ? `: ${turn.error}` : ""}`);

  const done: PromptDoneRequest = {
    status: turn.status,
    commits: [],
    usage: turn.usage,
    changedFiles: 0,
    ...(turn.summary ? { summary: turn.summary.slice(0, 20_000) } : {}),
    ...(turn.error ? { error: ctx.redact(turn.error).slice(0, 20_000) } : {}),
  };

  const interruption = turn.status === "stopped" ? interruptionOf(stop) : null;
  if (interruption) {
    // Cut short by the runner (timeout, shutdown, lost control plane), not by a person: the
    // work so far is the requester's and is kept.
    ctx.log(`prompt ${prompt.id} interrupted: ${interruption.message}`);
    ctx.emit([errorEvent(interruption.message, interruption.code, prompt.id)]);
    done.status = "failed";
    done.error = interruption.message;
    await commitAndPush(ctx, done);
  } else if (turn.status === "stopped") {
    // What was pushed stays; the half-done edits of a stopped turn would otherwise ride
    // along in the next prompt's commit under someone else's name.
    await discardChanges(checkout.dir, checkout.jail).catch((e) => ctx.log(`discarding changes failed: ${e.message}`));
  } else {
    // A failed turn's edits are still the requester's work: commit them so nothing is lost.
    await commitAndPush(ctx, done);
  }

  await ctx.sink.flush();
  await ctx.api.promptDone(prompt.id, done);
}

async function commitAndPush(ctx: PromptContext, done: PromptDoneRequest) {
  const { spec, checkout } = ctx;
  let commit;
  let author;
  try {
    author = await turnAuthor(spec, ctx.prompt.author);
    commit = await commitAll({
      dir: checkout.dir,
      jail: checkout.jail,
      author,
      committer: spec.committer,
      message: commitMessage(ctx.prompt.title, spec.sessionUrl),
      redact: ctx.redact,
    });
  } catch (error) {
    return failDone(ctx, done, `Committing failed: ${(error as Error).message}`, "commit_failed");
  }
  if (!commit) {
    ctx.log(`prompt ${ctx.prompt.id} changed no file; nothing to commit`);
    return;
  }
  const ref: CommitRef = { sha: commit.sha, message: commit.message.slice(0, 20_000) };
  let pushedSha: string;
  done.commits = [ref];
  done.changedFiles = commit.files;
  ctx.emit([{ type: "git.commit", data: { sha: commit.sha, message: ref.message, author, files: commit.files } }]);
  try {
    const pushed = await pushBranch({
      dir: checkout.dir,
      jail: checkout.jail,
      url: spec.cloneUrl,
      branch: spec.headBranch,
      auth: checkout.auth,
      committer: spec.committer,
      redact: ctx.redact,
      log: ctx.log,
    });
    ctx.emit([{ type: "git.push", data: { branch: spec.headBranch, sha: pushed.sha, synced: pushed.synced } }]);
    pushedSha = pushed.sha;
    // Rebased, the turn's commit is a new one; merged, it is under the merge commit.
    if (pushed.synced?.how === "rebased") ref.sha = pushed.sha;
  } catch (error) {
    return failDone(ctx, done, (error as Error).message, "push_failed");
  }
  await ctx.sink.flush();
  // The branch is pushed either way; a lost notice only delays the PR until the next push.
  await ctx.api
    .pushed({ branch: spec.headBranch, sha: pushedSha })
    .catch((e) => ctx.log(`reporting the push failed: ${e.message}`));
}

function failDone(ctx: PromptContext, done: PromptDoneRequest, message: string, code: string) {
  const clean = ctx.redact(message);
  ctx.emit([errorEvent(clean, code, ctx.prompt.id)]);
  done.status = "failed";
  done.error = clean.slice(0, 20_000);
}
