/**
 * Running git. The installation token reaches git only through environment variables
 * (`GIT_CONFIG_COUNT`/`KEY`/`VALUE` → an `http.<origin>/.extraHeader` scoped to the clone
 * URL's origin): never `.git/config`, never the command line (visible in `ps`), and every
 * message that leaves here passes the redactor.
 *
 * Every git call runs with the repository's hooks and fsmonitor off and no global or system
 * config; with a jail, in the session jail — or, holding the token, in a network jail of its
 * own (see jail.ts), which must never be pointed at a checkout's own config (xfer.ts).
 */
import { spawn } from "node:child_process";
import type { Jail } from "../jail/jail.js";
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
  /** Run inside the sandbox: in the session jail, or — always when `auth` is given — a fresh jail of its own. */
  jail?: Jail | null;
  /** A fresh jail even without a token (the staging repository, or after the session jail ended). */
  ownJail?: boolean;
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
const PERMANENT =
  /returned error: 4\d\d|\[rejected\]|non-fast-forward|\[remote rejected\]|pre-receive hook declined|protected branch|authentication failed|permission denied|not found|couldn't find remote ref|invalid refspec/i;

export function isTransientGitError(stderr: string): boolean {
  return TRANSIENT.test(stderr) && !PERMANENT.test(stderr);
}

/**
 * Config given on git's "command line" (through the environment) wins over the repository's
 * own: no hooks, no fsmonitor (both run programs a repository or a poisoned snapshot names),
 * and — for the network — the token as a header scoped to the host's origin.
 */
function forcedConfigEnv(auth: GitAuth | null | undefined): Record<string, string> {
  const pairs: Array<[string, string]> = [
    ["core.hooksPath", "/dev/null"],
    ["core.fsmonitor", "false"],
  ];
  if (auth) {
    const basic = Buffer.from(`x-access-token:${auth.token}`).toString("base64");
    pairs.push([`http.${auth.origin.replace(/\/+$/, "")}/.extraHeader`, `Authorization: Basic ${basic}`]);
  }
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) };
  pairs.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
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
function gitBaseEnv(from: Record<string, string | undefined> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) {
    if (v !== undefined && !/^GIT_|^INSPECT_/.test(k)) env[k] = v;
  }
  return { ...env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", LC_ALL: "C" };
}

/** Local git work (add, commit, status, rebase) that takes longer is stuck; network calls set their own. */
const LOCAL_TIMEOUT_MS = 5 * 60_000;

export function git(args: string[], options: GitOptions): Promise<string> {
  const redact = options.redact ?? ((s: string) => s);
  const jail = options.jail;
  const timeoutMs = options.timeoutMs ?? LOCAL_TIMEOUT_MS;
  // A command joined into the session jail is not our child once nsenter forks: coreutils'
  // timeout, inside the jail, is what ends it.
  const inJail = ["-k", "5", `${Math.ceil(timeoutMs / 1000)}`, "git", ...args];
  const joined = Boolean(jail && !options.auth && !options.ownJail);
  const line = !jail
    ? { file: "git", args, cwd: options.cwd }
    : !joined
      ? jail.network("git", args, options.cwd)
      : jail.session("timeout", inJail, options.cwd);
  return new Promise((resolve, reject) => {
    const child = spawn(line.file, line.args, {
      cwd: line.cwd,
      env: { ...gitBaseEnv(jail ? jail.env() : process.env), ...options.env, ...forcedConfigEnv(options.auth) },
      stdio: ["ignore", "pipe", "pipe"],
      // Unjailed, git gets a process group of its own, so a timeout ends what it started too
      // (a hook or alias holding its output open would otherwise keep it "running").
      detached: !jail,
    });
    let stdout = "";
    let stderr = "";
    // Decode as one stream: a character split across two chunks must not turn into two U+FFFD.
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(
      () => {
        stderr += `\ngit ${args[0]} timed out after ${timeoutMs} ms`;
        // In a jail this is nsenter or bwrap; a network jail dies with bwrap, the session jail's git by its timeout.
        if (!jail && child.pid) {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            child.kill("SIGKILL");
          }
        } else child.kill("SIGKILL");
      },
      joined ? timeoutMs + 10_000 : timeoutMs,
    );
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new GitError(redact(`git ${args[0]} could not run: ${error.message}`), args, "", null));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve(stdout);
      if (joined && (code === 124 || code === 137)) stderr += `\ngit ${args[0]} timed out after ${timeoutMs} ms`;
      const err = redact(stderr.trim());
      reject(
        new GitError(`git ${redact(args.join(" "))} failed (exit ${code}): ${err.slice(-2_000)}`, args, err, code),
      );
    });
  });
}
