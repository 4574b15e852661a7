/** Run a short command line to completion (a jailed `sh -c`, say): its exit code and output tail. */
import { spawn } from "node:child_process";
import type { CommandLine } from "./jail.js";

export function execLine(
  line: CommandLine,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(line.file, line.args, { cwd: line.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (c: Buffer) => (output = (output + c.toString()).slice(-4_000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, output: error.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
