/**
 * The bundled GitHub Action run as a runner runs it: `node action/dist/index.js`, its inputs as
 * INPUT_* variables, nothing else of ours in its environment.
 */
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";

export const actionBundle = path.resolve(import.meta.dirname, "../../action/dist/index.js");

/** Resolves when the job ends, with its exit code and everything it printed. `watch` runs every 100 ms meanwhile. */
export function runActionJob(
  env: Record<string, string>,
  watch?: () => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [actionBundle], {
      env: { PATH: process.env.PATH!, HOME: os.homedir(), ...env },
    });
    const timer = watch ? setInterval(watch, 100) : null;
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (code) => {
      if (timer) clearInterval(timer);
      resolve({ code, output });
    });
  });
}
