/**
 * Whether this machine can keep a session's code away from our secrets: we must be root (to
 * switch users), bubblewrap, setpriv and nsenter must be there, and the sandbox user must
 * exist and not be root. The answer is a user to run as, or the reason there is none.
 */
import { execFileSync } from "node:child_process";

export const DEFAULT_SANDBOX_USER = "inspect-sandbox";

export interface SandboxUser {
  name: string;
  uid: number;
  gid: number;
}

export type Boundary = { ok: true; user: SandboxUser } | { ok: false; reason: string };

const TOOLS = ["bwrap", "setpriv", "nsenter"] as const;

function onPath(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function idOf(flag: "-u" | "-g", name: string): number | null {
  try {
    const out = execFileSync("id", [flag, name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return /^\d+$/.test(out) ? Number(out) : null;
  } catch {
    return null;
  }
}

const cache = new Map<string, Boundary>();

/** Checked once per user name and process: none of it changes while we run. */
export function detectBoundary(userName: string = DEFAULT_SANDBOX_USER): Boundary {
  const known = cache.get(userName);
  if (known) return known;
  const answer = detect(userName);
  cache.set(userName, answer);
  return answer;
}

function detect(userName: string): Boundary {
  if (process.platform !== "linux")
    return { ok: false, reason: `the sandbox boundary needs Linux (this is ${process.platform})` };
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    return { ok: false, reason: "the runner is not root, so it cannot run the session's code as another user" };
  }
  const missing = TOOLS.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    return { ok: false, reason: `${missing.join(", ")} not found (install Debian's bubblewrap and util-linux)` };
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(userName))
    return { ok: false, reason: `"${userName}" is not a valid user name` };
  const uid = idOf("-u", userName);
  const gid = idOf("-g", userName);
  if (uid === null || gid === null) {
    return {
      ok: false,
      reason: `the sandbox user "${userName}" does not exist (create it: useradd --system --no-create-home ${userName})`,
    };
  }
  if (uid === 0 || gid === 0) return { ok: false, reason: `the sandbox user "${userName}" must not be root` };
  return { ok: true, user: { name: userName, uid, gid } };
}
