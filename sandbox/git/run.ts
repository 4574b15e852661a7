/**
 * Running git. The installation token reaches git only through environment variables
 * (`GIT_CONFIG_COUNT`/`KEY`/`VALUE` → an `http.<origin>/.extraHeader` scoped to the clone
 * URL's origin): never `.git/config`, never the command line (visible in `ps`), and every
 * message that leaves here passes the redactor.
 */
import { spawn } from "node:child_process";
import type { Redactor } from "../redact.js";

export interface GitAuth {
  /** Origin the header is scoped to, e.g. https://github.com */
  origin: string;
  token: string;
}

export interface GitOptions {
  cwd: string;
  env?: Record<string, string>;
  auth?: GitAuth | null;
  redact?: Redactor;
  timeoutMs?: number;
}

export class GitError extends Error {
  constructor(
    message: string,
    readonly args: string[],
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(message);
    this.name = "GitError";
  }
  /** Network-ish failures worth another try; a rejected push or a missing ref is not. */
  get transient(): boolean {
    return isTransientGitError(this.stderr);
  }
}

const TRANSIENT =
  /could not resolve host|connection (timed out|refused|reset)|operation timed out|early eof|the remote end hung up unexpectedly|rpc failed|http 5\d\d|returned error: 5\d\d|\b50[0234]\b|temporarily unavailable|tls|ssl_|unable to access|timed out/i;
const PERMANENT = /returned error: 4\d\d|\[rejected\]|non-fast-forward|\[remote rejected\]|pre-receive hook declined|protected branch|authentication failed|permission denied|not found|couldn't find remote ref|invalid refspec/i;

export function isTransientGitError(stderr: string): boolean {
  return TRANSIENT.test(stderr) && !PERMANENT.test(stderr);
}

export function authEnv(auth: GitAuth | null | undefined): Record<string, string> {
  if (!auth) return {};
  const basic = Buffer.from(`x-access-token:${auth.token}`).toString("base64");
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `http.${auth.origin.replace(/\/+$/, "")}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

/** Origin of an https clone URL (for scoping the header); null for paths and ssh. */
export function httpsOrigin(cloneUrl: string): string | null {
  try {
    const url = new URL(cloneUrl);
    return url.protocol === "https:" || url.protocol === "http:" ? url.origin : null;
  } catch {
    return null;
  }
}

/** Base environment for git: no prompts, no user/system config surprises. */
export function gitBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^GIT_|^INSPECT_/.test(k)) env[k] = v;
  }
  return { ...env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" };
}

export function git(args: string[], options: GitOptions): Promise<string> {
  const redact = options.redact ?? ((s: string) => s);
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd: options.cwd,
      env: { ...gitBaseEnv(), ...options.env, ...authEnv(options.auth) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = options.timeoutMs
      ? setTimeout(() => {
          stderr += `\ngit ${args[0]} timed out after ${options.timeoutMs} ms`;
          child.kill("SIGKILL");
        }, options.timeoutMs)
      : undefined;
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new GitError(redact(`git ${args[0]} could not run: ${error.message}`), args, "", null));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve(stdout);
      const err = redact(stderr.trim());
      reject(new GitError(`git ${redact(args.join(" "))} failed (exit ${code}): ${err.slice(-2_000)}`, args, err, code));
    });
  });
}
