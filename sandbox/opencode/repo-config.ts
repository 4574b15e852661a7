/**
 * What a repository may add to the agent: its instructions (AGENTS.md, and the files its
 * opencode.json lists under `instructions`) and its setup script — taken from the base
 * branch, so a pull request cannot rewrite the rules it is worked on under (as
 * claude-code-action restores its config from the base). OpenCode itself is started with
 * OPENCODE_DISABLE_PROJECT_CONFIG, so the repository's MCP servers, plugins, providers and
 * `.opencode/` folder are not loaded unless the operator trusts repositories
 * (INSPECT_TRUST_REPO_CONFIG).
 *
 * The files are written where the session jail can read but not write them (`xfer/base`),
 * at fixed paths the OpenCode config names before the checkout exists.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Jail } from "../jail/jail.js";
import { git } from "../git/run.js";
import { SETUP_SCRIPT } from "../setup-script.js";

/** OpenCode's own order for a project's rules file (CLAUDE.md is off: OPENCODE_DISABLE_CLAUDE_CODE). */
const RULE_FILES = ["AGENTS.md", "CONTEXT.md"];
const CONFIG_FILES = ["opencode.jsonc", "opencode.json"];
const MAX_FILE = 256 * 1024;
const MAX_INSTRUCTIONS = 20;

export interface RepoFiles {
  /** The base branch's setup script, or null when it has none. */
  setupScript: string | null;
  /** Instruction files written (for the log). */
  instructions: string[];
  /** Entries of the repository's `instructions` that were not followed, and why. */
  skipped: string[];
}

/** Fixed paths named in the OpenCode config (they may not exist: OpenCode skips missing ones). */
export function instructionPaths(xfer: string): string[] {
  const dir = path.join(xfer, "base");
  return [path.join(dir, "rules.md"), path.join(dir, "instructions.md")];
}

/** Strip // and /* *\/ comments outside strings, and trailing commas: enough of JSONC to read a config. */
export function parseJsonc(text: string): unknown {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end - 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 1;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/** A plain path inside the repository; globs, URLs, absolute paths and `..` are not followed. */
export function instructionProblem(entry: unknown): string | null {
  if (typeof entry !== "string" || entry.length === 0 || entry.length > 300) return "not a path";
  if (/^[a-z]+:\/\//i.test(entry)) return "a URL";
  if (entry.startsWith("/") || entry.startsWith("~")) return "outside the repository";
  if (/[*?[\]{}]/.test(entry)) return "a pattern";
  if (path.posix.normalize(entry).split("/").includes("..")) return "outside the repository";
  return null;
}

export async function readRepoFiles(o: {
  jail: Jail;
  dir: string;
  baseBranch: string;
  log?: (line: string) => void;
}): Promise<RepoFiles> {
  const ref = `refs/remotes/origin/${o.baseBranch}`;
  const show = async (file: string): Promise<string | null> => {
    try {
      const text = await git(["show", `${ref}:${file}`], { cwd: o.dir, jail: o.jail, timeoutMs: 30_000 });
      return text.length > MAX_FILE ? text.slice(0, MAX_FILE) : text;
    } catch {
      return null;
    }
  };
  const dir = path.join(o.jail.xfer, "base");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const [rulesPath, instructionsPath] = instructionPaths(o.jail.xfer);
  const written: string[] = [];
  const skipped: string[] = [];

  for (const name of RULE_FILES) {
    const text = await show(name);
    if (text === null) continue;
    writeFileSync(rulesPath!, text, { mode: 0o644 });
    written.push(name);
    break;
  }

  let listed: unknown[] = [];
  for (const name of CONFIG_FILES) {
    const text = await show(name);
    if (text === null) continue;
    try {
      const config = parseJsonc(text) as { instructions?: unknown };
      if (Array.isArray(config.instructions)) listed = config.instructions;
    } catch (error) {
      skipped.push(`${name}: not valid JSON (${(error as Error).message})`);
    }
    break;
  }
  const parts: string[] = [];
  for (const entry of listed.slice(0, MAX_INSTRUCTIONS)) {
    const problem = instructionProblem(entry);
    if (problem) {
      skipped.push(`${String(entry).slice(0, 100)}: ${problem}`);
      continue;
    }
    const text = await show(entry as string);
    if (text === null) {
      skipped.push(`${entry as string}: not on the base branch`);
      continue;
    }
    parts.push(`Instructions from ${entry as string}:\n\n${text}`);
    written.push(entry as string);
  }
  if (parts.length > 0) writeFileSync(instructionsPath!, parts.join("\n\n"), { mode: 0o644 });

  const script = await show(SETUP_SCRIPT);
  let setupScript: string | null = null;
  if (script !== null) {
    setupScript = path.join(dir, "setup.sh");
    writeFileSync(setupScript, script, { mode: 0o644 });
  }
  if (skipped.length) o.log?.(`repository instructions not followed: ${skipped.join("; ")}`);
  return { setupScript, instructions: written, skipped };
}
