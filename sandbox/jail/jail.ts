/**
 * Where the session's code runs. With a boundary (boundary.ts) every process a repository or
 * the agent can influence — OpenCode and its tools, the setup script, git — runs as the
 * sandbox user inside bubblewrap: its own PID namespace (it sees none of our processes, and
 * everything in it dies with the session, daemons that `setsid` away included), a read-only
 * view of the machine with the work root, the snapshot folder and the app's secrets mounted
 * away, and only this session's box writable.
 *
 * Two kinds of jail per session:
 * - the **session jail**: one long-lived namespace that OpenCode, the setup script and
 *   token-free git commands all join (so services the setup script starts live on for the
 *   agent);
 * - a **network jail** per git call that holds the installation token: fresh, sharing no
 *   process with the session, so nothing the agent started can read the token from it.
 *
 * Without a boundary (a developer's own repositories, no GitHub App) `noJail()` runs
 * everything as ourselves, as before.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { scrubEnv } from "../opencode/env.js";
import { killGroup, spawnGroup } from "../proc/group.js";
import type { SandboxUser } from "./boundary.js";

export interface CommandLine {
  file: string;
  args: string[];
  /** Where to spawn it from (a folder that exists outside the jail). */
  cwd: string;
}

export interface Jail {
  readonly isolated: boolean;
  readonly user: SandboxUser | null;
  /** The session's writable folder (checkout, home, OpenCode's folders). */
  readonly box: string;
  /** Network git's staging repository lives here: writable in network jails, read-only in the session jail. */
  readonly xfer: string;
  /** Start the session jail (a no-op without a boundary). */
  start(): Promise<void>;
  /** `command args` in the session jail, working in `cwd`. */
  session(command: string, args: string[], cwd: string): CommandLine;
  /** `command args` in a fresh jail of its own (for git holding the token). */
  network(command: string, args: string[], cwd: string): CommandLine;
  /** The environment every sandbox process starts from: none of the runner's secrets. */
  env(): Record<string, string>;
  /** Give a folder the runtime made (or restored) to the sandbox user. */
  own(target: string): void;
  /** End the session jail and everything in it. */
  close(): Promise<void>;
}

export interface JailLayout {
  /** This session's folder; `box/` and `xfer/` are made inside it. */
  sessionDir: string;
  /** Folders and files the session's code must not see. Missing ones are skipped. */
  hide: string[];
  /** Paths inside a hidden folder that must stay readable (the OpenCode binary, tool caches). */
  reveal: string[];
}

function layoutDirs(sessionDir: string) {
  return { box: path.join(sessionDir, "box"), xfer: path.join(sessionDir, "xfer") };
}

/** Everything as ourselves: no boundary. */
export function noJail(sessionDir: string): Jail {
  const { box, xfer } = layoutDirs(sessionDir);
  mkdirSync(box, { recursive: true });
  mkdirSync(xfer, { recursive: true });
  const direct = (command: string, args: string[], cwd: string): CommandLine => ({ file: command, args, cwd });
  return {
    isolated: false,
    user: null,
    box,
    xfer,
    start: async () => undefined,
    session: direct,
    network: direct,
    env: () => scrubEnv(process.env),
    own: () => undefined,
    close: async () => undefined,
  };
}

const ENTER = 'cd -- "$1" || exit 126; shift; exec "$@"';
const SETPRIV_FLAGS = ["--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"];

export function userJail(user: SandboxUser, layout: JailLayout): Jail {
  const { box, xfer } = layoutDirs(layout.sessionDir);
  const sessionDir = layout.sessionDir;
  mkdirSync(sessionDir, { recursive: true, mode: 0o755 });
  for (const dir of [box, xfer, path.join(box, "home")]) mkdirSync(dir, { recursive: true });
  chown(user, box);
  chown(user, xfer);

  const hidden = layout.hide.map((p) => path.resolve(p)).filter((p) => existsSync(p));
  const setpriv = ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, ...SETPRIV_FLAGS, "--"];

  /** bubblewrap's view of the machine: read-only, private /tmp, the hidden paths gone, the binds back. */
  const mounts = (binds: Array<[flag: "--bind" | "--ro-bind", target: string]>): string[] => {
    const args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"];
    args.push(
      "--ro-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--perms",
      "1777",
      "--tmpfs",
      "/tmp",
      "--perms",
      "1777",
      "--tmpfs",
      "/dev/shm",
    );
    for (const p of hidden) {
      if (statSync(p).isDirectory()) args.push("--tmpfs", p);
      else args.push("--ro-bind", "/dev/null", p);
    }
    const made = new Set<string>();
    const all: Array<[string, string]> = [
      ...layout.reveal.filter((p) => existsSync(p)).map((p) => ["--ro-bind", path.resolve(p)] as [string, string]),
      ...binds,
    ];
    for (const [flag, target] of all) {
      // Inside a hidden folder bubblewrap would make the way to a bind 0700 root: make it passable.
      for (const dir of ancestors(target)) {
        if (made.has(dir) || !hidden.some((h) => dir.startsWith(h + path.sep))) continue;
        made.add(dir);
        args.push("--dir", dir);
      }
      args.push(flag, target, target);
    }
    return args;
  };

  let holder: ChildProcess | null = null;
  let holderPid: number | null = null;

  return {
    isolated: true,
    user,
    box,
    xfer,
    async start() {
      if (holder) return;
      const args = [
        ...mounts([
          ["--bind", box],
          ["--ro-bind", xfer],
        ]),
        "--info-fd",
        "3",
        "--",
        ...setpriv,
        "sh",
        "-c",
        // Says so once it runs inside the finished jail: bubblewrap names its pid (info fd) before
        // the mounts are in place, and joining earlier would enter a half-built namespace.
        "echo ready; exec sleep infinity",
      ];
      const child = spawnGroup("bwrap", args, {
        cwd: sessionDir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stdio: ["ignore", "pipe", "pipe", "pipe"],
      });
      holder = child;
      holderPid = await readChildPid(child);
    },
    session(command, args, cwd) {
      if (!holderPid) throw new Error("the session jail is not running");
      // The working directory is entered inside the namespace: one opened outside (nsenter --wd)
      // is unreachable from the jail's root, and getcwd() then fails on the folders above it.
      return {
        file: "nsenter",
        args: ["-t", String(holderPid), "-p", "-m", "--", ...setpriv, "sh", "-c", ENTER, "sh", cwd, command, ...args],
        cwd: sessionDir,
      };
    },
    network(command, args, cwd) {
      return {
        file: "bwrap",
        args: [
          ...mounts([
            ["--bind", box],
            ["--bind", xfer],
          ]),
          "--chdir",
          cwd,
          "--",
          ...setpriv,
          command,
          ...args,
        ],
        cwd: sessionDir,
      };
    },
    env() {
      return {
        ...scrubEnv(process.env),
        HOME: path.join(box, "home"),
        USER: user.name,
        LOGNAME: user.name,
        TMPDIR: "/tmp",
      };
    },
    own(target) {
      chown(user, target);
    },
    async close() {
      const child = holder;
      holder = null;
      holderPid = null;
      if (child) await killGroup(child, 200);
    },
  };
}

function ancestors(target: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) out.unshift(dir);
  return out;
}

function chown(user: SandboxUser, target: string): void {
  // -h: a link is re-owned itself, never followed (a checkout is the repository's to fill).
  execFileSync("chown", ["-R", "-h", `${user.uid}:${user.gid}`, target], { stdio: "ignore" });
}

/** bubblewrap says on its info fd which process the jail is (the one to join with nsenter); the holder says when the jail is ready. */
function readChildPid(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    let stderr = "";
    let pid: number | null = null;
    let ready = false;
    const info = child.stdio[3] as NodeJS.ReadableStream | null;
    child.stdio[2]?.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2_000)));
    let settled = false;
    const timer = setTimeout(() => fail(new Error("the sandbox did not start within 10 s")), 10_000);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void killGroup(child, 0);
      reject(error);
    };
    const done = () => {
      if (pid === null || !ready || settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(pid);
    };
    info?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const found = /"child-pid"\s*:\s*(\d+)/.exec(text)?.[1];
      if (found) pid = Number(found);
      done();
    });
    let said = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes("ready\n")) ready = true;
      done();
    });
    child.once("exit", (code) =>
      fail(new Error(`the sandbox could not start (bwrap exited ${code}): ${stderr.trim()}`)),
    );
    child.once("error", (error) => fail(error));
  });
}
