/**
 * The repository's own caps, from `.inspect/config.yml` on the base branch (like its setup
 * script and instructions: a branch cannot rewrite the rules it is worked under):
 *
 * ```yaml
 * budgets:
 *   session_usd: 5
 *   prompt_usd: 1
 * ```
 *
 * Untrusted input: anything unreadable is ignored (and said in the log); effectiveBudgets
 * only ever lets these lower the operator's caps.
 */
import { parse } from "yaml";
import { z } from "zod";
import { git } from "../git/run.js";
import type { Jail } from "../jail/jail.js";

export const REPO_CONFIG = ".inspect/config.yml";

const Usd = z.number().positive().finite();
const RepoConfig = z.object({
  budgets: z.object({ session_usd: Usd.optional(), prompt_usd: Usd.optional() }).optional(),
});

export interface RepoBudgets {
  sessionUsd?: number;
  promptUsd?: number;
}

/** Parse the file's text; null when it sets no budget or cannot be read. */
export function parseRepoBudgets(text: string, log?: (line: string) => void): RepoBudgets | null {
  let raw: unknown;
  try {
    raw = parse(text.slice(0, 64 * 1024));
  } catch (error) {
    log?.(`${REPO_CONFIG} is not valid YAML; its budgets are ignored: ${(error as Error).message}`);
    return null;
  }
  const config = RepoConfig.safeParse(raw ?? {});
  if (!config.success) {
    log?.(`${REPO_CONFIG}: budgets must be positive numbers of USD; ignored`);
    return null;
  }
  const b = config.data.budgets;
  if (!b) return null;
  return {
    ...(b.session_usd !== undefined ? { sessionUsd: b.session_usd } : {}),
    ...(b.prompt_usd !== undefined ? { promptUsd: b.prompt_usd } : {}),
  };
}

async function readRepoBudgets(o: {
  dir: string;
  jail: Jail;
  baseBranch: string;
  log?: (line: string) => void;
}): Promise<RepoBudgets | null> {
  let text: string;
  try {
    text = await git(["show", `refs/remotes/origin/${o.baseBranch}:${REPO_CONFIG}`], {
      cwd: o.dir,
      jail: o.jail,
      timeoutMs: 30_000,
    });
  } catch {
    return null; // no such file
  }
  return parseRepoBudgets(text, o.log);
}

const perCheckout = new WeakMap<object, Promise<RepoBudgets | null>>();

/** Read once per checkout, before its first turn: later turns cannot have changed what counts. */
export function repoBudgetsOnce(
  checkout: { dir: string; jail: Jail },
  baseBranch: string,
  log?: (line: string) => void,
): Promise<RepoBudgets | null> {
  let read = perCheckout.get(checkout);
  if (!read) {
    read = readRepoBudgets({ dir: checkout.dir, jail: checkout.jail, baseBranch, log });
    perCheckout.set(checkout, read);
  }
  return read;
}
