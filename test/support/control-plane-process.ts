/**
 * The control plane as its own process (`node --import tsx app/main.ts`, as `npm start` runs
 * it), for faults a test process cannot play on itself: SIGKILL, restart on the same data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ControlPlaneProcess {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** Send `signal` and wait for the process to be gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startControlPlane(env: Record<string, string>, timeoutMs = 60_000): Promise<ControlPlaneProcess> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const proc = spawn(process.execPath, ["--import", tsx, path.join(root, "app", "main.ts")], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (c) => (out += c));
  proc.stderr!.on("data", (c) => (out += c));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + timeoutMs;
  while (!out.includes("Inspect is running")) {
    if (proc.exitCode !== null) throw new Error(`the control plane exited (${proc.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`the control plane did not start within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    proc,
    output: () => out,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
