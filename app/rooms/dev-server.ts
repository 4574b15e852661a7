/**
 * Local mode: run the room server (`partykit dev`) as a child of the app process, so
 * `npm start` is the whole system on one machine. We spawn partykit's own node entry
 * (not npx) so that killing that one process also stops the workerd it started.
 *
 * The room secret never goes on a command line (every local user can read argv in
 * `ps`). partykit dev takes variables only from `--var`, its config file's `vars`
 * and `.env`/`.env.local` files it looks for from its working directory upwards;
 * not from its environment. So it runs in a private folder (0700) holding its config
 * with the secret in `vars` (0600) and empty `.env` and `.env.local`, which stop that
 * upward search: no `.env` elsewhere (the app's own, or one planted in /tmp) can add
 * to or override the room's variables. workerd refuses an entry point outside the
 * working directory, so the folder also has a symlink to the repository that `main`
 * goes through. The folder is removed when the server stops.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { removeRecord, stopLeftover, writeRecord } from "./leftover.js";

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
  /**
   * Where the running server is recorded (the data folder): one a killed predecessor left
   * there is stopped first (./leftover.ts).
   */
  pidFile?: string;
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

/**
 * The private folder partykit runs in: partykit.json (the repository's, `main` reached
 * through the `repo` symlink, the secret in `vars`), and empty .env and .env.local.
 */
function privateConfigDir(secret: string): { dir: string; config: string } {
  const base = JSON.parse(readFileSync(path.join(repoRoot, "partykit.json"), "utf8")) as {
    main: string;
    vars?: Record<string, string>;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), "inspect-rooms-"));
  try {
    chmodSync(dir, 0o700); // mkdtemp's default, made explicit
    const write = (name: string, text: string) =>
      writeFileSync(path.join(dir, name), text, { mode: 0o600, flag: "wx" });
    const config = path.join(dir, "partykit.json");
    symlinkSync(repoRoot, path.join(dir, "repo"), "dir");
    const main = path.join("repo", path.relative(repoRoot, path.resolve(repoRoot, base.main)));
    write("partykit.json", JSON.stringify({ ...base, main, vars: { ...base.vars, INSPECT_ROOM_SECRET: secret } }));
    write(".env", "");
    write(".env.local", "");
    return { dir, config };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function startRoomDevServer(opts: RoomDevServerOptions): Promise<RoomDevServer> {
  if (opts.pidFile) await stopLeftover(opts.pidFile, opts.log);
  const { dir, config } = privateConfigDir(opts.secret);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const args = [
    partykitBin(),
    "dev",
    "--port",
    String(opts.port),
    "--persist",
    opts.persistDir ? path.resolve(repoRoot, opts.persistDir) : "false",
    "--disable-request-cf-fetch",
    "--no-hotkeys",
    "--config",
    config,
  ];
  // Its own process group: partykit starts workerd and an esbuild service, and the
  // esbuild service can outlive its parent; stopping signals the whole group.
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, NO_UPDATE_NOTIFIER: "1", CI: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  if (opts.pidFile && child.pid) writeRecord(opts.pidFile, { pid: child.pid, port: opts.port, dir });
  const forget = () => opts.pidFile && removeRecord(opts.pidFile);
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
  const killOnExit = () => {
    signalGroup(child, "SIGKILL");
    removeDir();
    forget();
  };
  process.once("exit", killOnExit);

  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    await terminate(child);
    removeDir();
    forget();
  };
  try {
    await waitUntilReady(url, child, opts.timeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw new Error(`the room server did not start: ${(err as Error).message}\n${output.join("").slice(-2000)}`, {
      cause: err,
    });
  }
  return { url, pid: child.pid!, stop };
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`partykit exited (${child.exitCode ?? child.signalCode})`);
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
