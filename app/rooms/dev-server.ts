/**
 * Local mode: run the room server (`partykit dev`) as a child of the app process, so
 * `npm start` is the whole system on one machine. We spawn partykit's own node entry
 * (not npx) so that killing that one process also stops the workerd it started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface RoomDevServerOptions {
  port: number;
  /** INSPECT_ROOM_SECRET, shared with the app's publisher and token signer. */
  secret: string;
  /** Where rooms keep their storage across restarts; false keeps it in memory. */
  persistDir?: string | false;
  /** Startup budget; partykit is ready in 1.5–3 s on a small machine. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface RoomDevServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** partykit's exports map hides its bin, so find the package folder on the module paths. */
function partykitBin(): string {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths("partykit") ?? []) {
    const bin = path.join(dir, "partykit", "dist", "bin.mjs");
    if (existsSync(bin)) return bin;
  }
  throw new Error("the partykit package is not installed (npm install)");
}

export async function startRoomDevServer(opts: RoomDevServerOptions): Promise<RoomDevServer> {
  const args = [
    partykitBin(),
    "dev",
    "--port",
    String(opts.port),
    "--persist",
    opts.persistDir ? opts.persistDir : "false",
    "--disable-request-cf-fetch",
    "--no-hotkeys",
    "--config",
    path.join(repoRoot, "partykit.json"),
    "--var",
    `INSPECT_ROOM_SECRET=${opts.secret}`,
  ];
  // Its own process group: partykit starts workerd and an esbuild service, and the
  // esbuild service can outlive its parent; stopping signals the whole group.
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, NO_UPDATE_NOTIFIER: "1", CI: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    const text = chunk.toString().replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
    output.push(text);
    if (output.length > 50) output.shift();
    for (const line of text.split("\n")) if (/error|fail/i.test(line)) opts.log?.(`[rooms] ${line.trim()}`);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);

  // If the app exits without calling stop(), do not leave the room server behind.
  const killOnExit = () => signalGroup(child, "SIGKILL");
  process.once("exit", killOnExit);

  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    await terminate(child);
  };
  try {
    await waitUntilReady(url, child, opts.timeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw new Error(`the room server did not start: ${(err as Error).message}\n${output.join("").slice(-2000)}`);
  }
  return { url, pid: child.pid!, stop };
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`partykit exited (${child.exitCode ?? child.signalCode})`);
    try {
      // Any HTTP answer from a room (405 for a GET) means the worker is serving.
      const res = await fetch(`${url}/parties/main/__ready`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 405) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}

/** Signal partykit's process group (node, workerd, esbuild); the process alone if that fails. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * SIGTERM to the group, SIGKILL after 3 s; resolves when partykit's node process is
 * gone, then SIGKILLs whatever of its group is left (an esbuild service that missed it).
 */
function terminate(child: ChildProcess): Promise<void> {
  const exited = child.exitCode !== null || child.signalCode !== null;
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      signalGroup(child, "SIGKILL");
      resolve();
    };
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 3_000);
    if (exited) return finish();
    child.once("exit", finish);
    signalGroup(child, "SIGTERM");
  });
}
