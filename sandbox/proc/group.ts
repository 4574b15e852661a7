/**
 * Child processes started in their own process group, so one signal ends them and
 * everything they spawned (OpenCode's bash tool, a setup script's background services).
 * A group is remembered until it is killed, even after its leader exits, because its
 * children may live on.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

const groups = new Set<number>();
let exitHookInstalled = false;

/** Last resort: when this process exits for any reason, no group it started survives. */
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of groups) signalPid(pid, "SIGKILL");
  });
}

/**
 * If this process is SIGKILLed, no exit hook runs and a detached group would live on. So
 * each group carries a watchdog: a background shell that polls our pid and kills its own
 * group once we are gone. `exec` keeps the command itself as the group leader (same pid).
 */
const WATCHDOG = `parent=$1; shift
( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &
exec "$@"`;

export function spawnGroup(command: string, args: string[], options: SpawnOptions): ChildProcess {
  installExitHook();
  const child = spawn("sh", ["-c", WATCHDOG, "inspect-group", String(process.pid), command, ...args], {
    ...options,
    detached: true,
  });
  if (child.pid) groups.add(child.pid);
  return child;
}

function signalPid(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid) signalPid(child.pid, signal);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killPidGroup(pid: number, graceMs: number): Promise<void> {
  signalPid(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (signalPid(pid, 0) && Date.now() < deadline) await sleep(25);
  if (signalPid(pid, 0)) {
    signalPid(pid, "SIGKILL");
    const hard = Date.now() + 2_000;
    while (signalPid(pid, 0) && Date.now() < hard) await sleep(25);
  }
  groups.delete(pid);
}

/** SIGTERM the group, SIGKILL what is left after `graceMs`; resolves when the group is gone. */
export async function killGroup(child: ChildProcess, graceMs = 1_000): Promise<void> {
  if (child.pid) await killPidGroup(child.pid, graceMs);
}

/** Every group this process started (shutdown path). */
export async function killAllGroups(graceMs = 1_000): Promise<void> {
  await Promise.all([...groups].map((pid) => killPidGroup(pid, graceMs)));
}
