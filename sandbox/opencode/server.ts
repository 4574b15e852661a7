/**
 * One `opencode serve` process on loopback, in its own process group, with a hermetic
 * environment. Started as early as possible (while the checkout is prepared) because it
 * takes seconds to become ready; `directory` for the SDK is given per request, so the server
 * can start before the checkout exists.
 */
import type { ChildProcess } from "node:child_process";
import type { Jail } from "../jail/jail.js";
import { killGroup, spawnGroup } from "../proc/group.js";

export interface OpencodeServer {
  url: string;
  child: ChildProcess;
  /** Resolves with a description when the server dies on its own. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  binary: string;
  env: Record<string, string>;
  /** Working directory for the server process (any existing folder). */
  cwd: string;
  /** Run it in the session jail (as the sandbox user). */
  jail?: Jail | null;
  timeoutMs?: number;
  /** Called with every output line (already free of secrets: the env has none). */
  onLog?: (line: string) => void;
  /** Aborting it before the server is up kills the process and rejects at once. */
  signal?: AbortSignal;
}

const LISTENING = /opencode server listening on (https?:\/\/\S+)/;

export function startOpencodeServer(options: StartServerOptions): Promise<OpencodeServer> {
  const args = ["serve", "--hostname", "127.0.0.1", "--port", "0"];
  const line = options.jail
    ? options.jail.session(options.binary, args, options.cwd)
    : { file: options.binary, args, cwd: options.cwd };
  const child = spawnGroup(line.file, line.args, {
    cwd: line.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) =>
      resolve(`OpenCode exited (${signal ?? `code ${code}`})${tail ? `: ${tail.slice(-2_000)}` : ""}`),
    );
    child.once("error", (error) => resolve(`OpenCode could not start: ${error.message}`));
  });
  const stop = () => killGroup(child);

  return new Promise((resolve, reject) => {
    let buffer = "";
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      void stop();
      reject(
        new Error(
          `OpenCode did not start within ${options.timeoutMs ?? 30_000} ms${tail ? `: ${tail.slice(-2_000)}` : ""}`,
        ),
      );
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-8_000);
      buffer += text;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        options.onLog?.(line);
        const match = LISTENING.exec(line);
        if (match && !done) {
          done = true;
          clearTimeout(timer);
          resolve({ url: match[1], child, exited, stop });
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    void exited.then((why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(why));
    });
    const onAbort = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stop();
      reject(new Error("OpenCode's start was cancelled"));
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
