/**
 * Inspect's own file in a repository, `.inspect/config.yml` — the one reader of it (budgets and
 * the browser's dev server both come from here). Not to be confused with the repository's
 * OpenCode config (opencode/repo-config.ts).
 *
 * ```yaml
 * budgets:                       # may lower the operator's caps, never raise them
 *   session_usd: 5
 *   prompt_usd: 1
 * browser:
 *   dev_server: npm run dev      # started in the sandbox, in the background, before the first turn
 *   url: http://localhost:3000   # waited for, then told to the agent
 *   wait_seconds: 60             # how long to wait for it (default 60, at most 300)
 * ```
 *
 * Read from the **base branch** (`refs/remotes/origin/<base>`, like the setup script and the
 * instructions): a branch cannot rewrite the rules it is worked under. Untrusted input: at most
 * 64 KiB, YAML with zod over each section, a section that does not validate is ignored (and said
 * in the log) without taking the others with it.
 */
import { parse } from "yaml";
import { z } from "zod";
import { git } from "./git/run.js";
import type { Jail } from "./jail/jail.js";

export const INSPECT_CONFIG = ".inspect/config.yml";
const MAX_BYTES = 64 * 1024;
const DEFAULT_WAIT_SECONDS = 60;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

const Usd = z.number().positive().finite();
const Budgets = z.object({ session_usd: Usd.optional(), prompt_usd: Usd.optional() });
const Browser = z.object({
  dev_server: z
    .string()
    .trim()
    .min(1)
    .max(2_000)
    .refine((s) => !s.includes("\0"), "no NUL characters")
    .optional(),
  url: z
    .string()
    .max(500)
    .refine((u) => {
      try {
        const url = new URL(u);
        return /^https?:$/.test(url.protocol) && LOOPBACK.has(url.hostname) && !url.username && !url.password;
      } catch {
        return false;
      }
    }, "an http(s) URL on localhost, 127.0.0.1 or [::1] (the sandbox's own loopback)"),
  wait_seconds: z.number().int().min(1).max(300).optional(),
});

export interface RepoBudgets {
  sessionUsd?: number;
  promptUsd?: number;
}

export interface RepoBrowser {
  /** A shell command run in the checkout, in the background, as the sandbox user; null: something else starts it. */
  devServer: string | null;
  /** Where it answers (loopback only). */
  url: string;
  waitMs: number;
}

export interface InspectConfig {
  budgets: RepoBudgets | null;
  browser: RepoBrowser | null;
}

export const NO_CONFIG: InspectConfig = { budgets: null, browser: null };

const issues = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.join(".") || "(section)"}: ${i.message}`).join("; ");

/** Parse the file's text; what cannot be read is null (and said through `log`). */
export function parseInspectConfig(text: string, log?: (line: string) => void): InspectConfig {
  if (Buffer.byteLength(text) > MAX_BYTES) {
    log?.(`${INSPECT_CONFIG} is over ${MAX_BYTES / 1024} KiB; ignored`);
    return NO_CONFIG;
  }
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 50 });
  } catch (error) {
    log?.(`${INSPECT_CONFIG} is not valid YAML; ignored: ${(error as Error).message}`);
    return NO_CONFIG;
  }
  if (raw === null || raw === undefined) return NO_CONFIG;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    log?.(`${INSPECT_CONFIG} is not a mapping of sections; ignored`);
    return NO_CONFIG;
  }
  const sections = raw as Record<string, unknown>;
  const config: InspectConfig = { budgets: null, browser: null };

  if (sections.budgets !== undefined) {
    const b = Budgets.safeParse(sections.budgets);
    if (!b.success) log?.(`${INSPECT_CONFIG}: budgets must be positive numbers of USD; ignored (${issues(b.error)})`);
    else if (b.data.session_usd !== undefined || b.data.prompt_usd !== undefined)
      config.budgets = {
        ...(b.data.session_usd !== undefined ? { sessionUsd: b.data.session_usd } : {}),
        ...(b.data.prompt_usd !== undefined ? { promptUsd: b.data.prompt_usd } : {}),
      };
  }

  if (sections.browser !== undefined) {
    const b = Browser.safeParse(sections.browser);
    if (!b.success) log?.(`${INSPECT_CONFIG}: the browser section is ignored (${issues(b.error)})`);
    else
      config.browser = {
        devServer: b.data.dev_server ?? null,
        url: b.data.url,
        waitMs: (b.data.wait_seconds ?? DEFAULT_WAIT_SECONDS) * 1000,
      };
  }
  return config;
}

/**
 * The base branch's file, as the checkout last fetched it: call it once the checkout is synced
 * (a pooled sandbox's fetch of the base branch comes after its first reads).
 */
export async function readInspectConfig(o: {
  dir: string;
  jail: Jail;
  baseBranch: string;
  log?: (line: string) => void;
}): Promise<InspectConfig> {
  const object = `refs/remotes/origin/${o.baseBranch}:${INSPECT_CONFIG}`;
  const run = (args: string[]) => git(args, { cwd: o.dir, jail: o.jail, timeoutMs: 30_000 });
  let size: number;
  try {
    size = Number((await run(["cat-file", "-s", object])).trim());
  } catch {
    return NO_CONFIG; // the base branch has no such file
  }
  // Too large to be a config: not read into memory at all.
  if (!(size <= MAX_BYTES)) {
    o.log?.(`${INSPECT_CONFIG} on ${o.baseBranch} is ${size} bytes, over ${MAX_BYTES / 1024} KiB; ignored`);
    return NO_CONFIG;
  }
  try {
    return parseInspectConfig(await run(["cat-file", "blob", object]), o.log);
  } catch (error) {
    o.log?.(`${INSPECT_CONFIG} could not be read: ${(error as Error).message}`);
    return NO_CONFIG;
  }
}
