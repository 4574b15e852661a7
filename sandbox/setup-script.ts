/**
 * The repository's `.inspect/setup.sh` (install dependencies, start services), run once per
 * sandbox before the first prompt, with a timeout. A failing or slow script is reported and
 * the session goes on: the agent may still manage, and the user sees why if it does not.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Jail } from "./jail/jail.js";
import { killGroup, spawnGroup } from "./proc/group.js";

export const SETUP_SCRIPT = ".inspect/setup.sh";

export interface SetupResult {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
}

export interface SetupOptions {
  dir: string;
  /** The script to run (default: the checkout's own .inspect/setup.sh). */
  script?: string | null;
  /** Run it in the session jail. */
  jail?: Jail | null;
  timeoutMs: number;
  env: Record<string, string>;
  onOutput: (stream: "stdout" | "stderr", text: string) => void;
  signal?: AbortSignal;
}

/** Null when the repository has no setup script. */
export async function runSetupScript(options: SetupOptions): Promise<SetupResult | null> {
  const script = options.script === undefined ? path.join(options.dir, SETUP_SCRIPT) : options.script;
  if (!script || !existsSync(script)) return null;
  const started = Date.now();
  const line = options.jail
    ? options.jail.session("bash", [script], options.dir)
    : { file: "bash", args: [script], cwd: options.dir };
  const child = spawnGroup(line.file, line.args, {
    cwd: line.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.setEncoding("utf8").on("data", (text: string) => options.onOutput("stdout", text));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => options.onOutput("stderr", text));
  let timedOut = false;
  const stopAll = () => void killGroup(child, 500);
  const timer = setTimeout(() => {
    timedOut = true;
    stopAll();
  }, options.timeoutMs);
  options.signal?.addEventListener("abort", stopAll, { once: true });
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once("error", () => resolve(null));
    child.once("close", (code) => resolve(code));
  });
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", stopAll);
  // A script that backgrounded a daemon and exited 0 keeps it; on failure or timeout nothing stays.
  if (timedOut || exitCode !== 0) await killGroup(child, 500);
  return { exitCode: timedOut ? null : exitCode, timedOut, durationMs: Date.now() - started };
}
