/**
 * The repository's dev server (`browser:` in `.inspect/config.yml`, see inspect-config.ts): its
 * command runs in the checkout, in the session jail as the sandbox user, in a process group of
 * its own, in the background for the whole session (ended with the sandbox: its group, and the
 * jail's PID namespace). The runtime waits — bounded — until the URL answers, then tells the agent
 * through a note in its instructions. One that exits or never answers is reported (an `error`
 * event and the log; it is stopped) and the session goes on without it: the agent is told that too.
 * One that exits after it answered is restarted, up to MAX_RESTARTS times, each said as an `error`.
 *
 * Its output is shown as setup output until it answers, and kept in `xfer/dev-server.log` (the
 * agent can read it) for the rest of the session, up to a bound.
 */
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { NewEvent } from "../protocol/events.js";
import { INSPECT_CONFIG, type RepoBrowser } from "./inspect-config.js";
import type { Jail } from "./jail/jail.js";
import { killGroup, spawnGroup } from "./proc/group.js";

/** Output shown as events before it answers; the log file keeps more. */
const SHOWN_BYTES = 20_000;
const LOG_BYTES = 5 * 1024 * 1024;
const POLL_MS = 250;
/** A dev server that exits after it answered is started again this often, 1 s, 2 s, 4 s apart. */
const MAX_RESTARTS = 3;
const RESTART_DELAY_MS = 1_000;

export interface DevServer {
  /** Answering at its URL (else it was stopped, or never started). */
  ready: boolean;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  config: RepoBrowser;
  /** The checkout: where the command runs. */
  dir: string;
  jail: Jail;
  /** The agent's note (sandbox/mcp/browser.ts `browserNoteFile`). */
  noteFile: string;
  emit: (events: NewEvent[]) => void;
  log: (line: string) => void;
  /** The sandbox is shutting down: stop waiting (and the server). */
  signal: AbortSignal;
  /** The first restart's delay (doubled for each next one); default 1 s. */
  restartDelayMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Any HTTP answer counts (a 404 at `/` is a server that is up); nothing is followed or sent. */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const { config } = o;
  const started = Date.now();
  // In `xfer/`, which the jail sees read-only: in `box/` the repository's setup script could put a
  // link there first, and this runtime (root on a runner) would write through it.
  const logFile = path.join(o.jail.xfer, "dev-server.log");
  const what = config.devServer
    ? `The dev server from ${INSPECT_CONFIG} (\`${config.devServer}\`)`
    : `The dev server ${INSPECT_CONFIG} names`;
  let exited: string | null = null;
  let stop = async () => undefined;

  if (config.devServer) {
    mkdirSync(path.dirname(logFile), { recursive: true });
    const file = createWriteStream(logFile, { mode: 0o644, flags: "w" });
    file.on("error", (error) => o.log(`the dev server's log could not be written: ${error.message}`));
    let logged = 0;
    let shown = 0;
    let answered = false;
    let stopping = false;
    const forward = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      // Drained for the whole session, so a chatty server never blocks on a full pipe.
      if (logged < LOG_BYTES) file.write(chunk.subarray(0, LOG_BYTES - logged));
      logged += chunk.length;
      if (answered || shown >= SHOWN_BYTES) return;
      const text = chunk.toString("utf8").slice(0, SHOWN_BYTES - shown);
      shown += text.length;
      o.emit([{ type: "setup.output", data: { stream, text } }]);
    };
    const launch = () => {
      const line = o.jail.session("bash", ["-c", config.devServer!], o.dir);
      const child = spawnGroup(line.file, line.args, {
        cwd: line.cwd,
        env: o.jail.env(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout!.on("data", forward("stdout"));
      child.stderr!.on("data", forward("stderr"));
      const closed = new Promise<string>((resolve) => {
        child.once("error", (error) => resolve(error.message));
        child.once("close", (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
      });
      return { child, closed };
    };
    let current = launch();
    void current.closed.then((how) => (exited ??= how));
    stop = async () => {
      stopping = true;
      answered = true;
      await killGroup(current.child, 1_000);
      await current.closed;
      file.end();
    };
    o.signal.addEventListener("abort", () => void stop(), { once: true });
    o.log(`dev server: started \`${config.devServer}\`, waiting for ${config.url}`);
    const ready = await waitFor(o, () => exited);
    // Shown as setup output until it answers; only the log file after that.
    answered = true;
    const server = await finish(o, what, logFile, started, ready, exited, stop);
    if (server.ready) {
      // It answered once, so it can run here: one that exits later (a crash, an edit it did not
      // survive) is started again, a bounded number of times, and the agent is told when it stays down.
      void (async () => {
        for (let restarts = 1; ; restarts++) {
          const how = await current.closed;
          if (stopping) return;
          if (restarts > MAX_RESTARTS) {
            const message = `${what} ${how} and was restarted ${MAX_RESTARTS} times; it is not started again`;
            o.log(`dev server: ${message}`);
            o.emit([{ type: "error", data: { message, code: "dev_server_failed" } }]);
            note(
              o,
              `${what} ${how} after ${MAX_RESTARTS} restarts, so it is not running. Its output is in \`${logFile}\`. If you need it, start it yourself in the background and open ${config.url} with the browser tools.`,
            );
            return;
          }
          const message = `${what} ${how}; restarting it (${restarts} of ${MAX_RESTARTS})`;
          o.log(`dev server: ${message}`);
          o.emit([{ type: "error", data: { message, code: "dev_server_restarted" } }]);
          await sleep((o.restartDelayMs ?? RESTART_DELAY_MS) * 2 ** (restarts - 1));
          if (stopping) return;
          current = launch();
        }
      })().catch((error: Error) => o.log(`dev server: could not be restarted: ${error.message}`));
    }
    return server;
  }

  o.log(`dev server: waiting for ${config.url}`);
  const ready = await waitFor(o, () => null);
  return finish(o, what, null, started, ready, exited, stop);
}

async function waitFor(o: DevServerOptions, exited: () => string | null): Promise<boolean> {
  const deadline = Date.now() + o.config.waitMs;
  while (!o.signal.aborted && !exited() && Date.now() < deadline) {
    if (await answers(o.config.url)) return true;
    await sleep(POLL_MS);
  }
  return false;
}

async function finish(
  o: DevServerOptions,
  what: string,
  logFile: string | null,
  started: number,
  ready: boolean,
  exited: string | null,
  stop: () => Promise<void>,
): Promise<DevServer> {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const log = logFile ? ` Its output is in \`${logFile}\`.` : "";
  if (o.signal.aborted) {
    await stop();
    return { ready: false, stop };
  }
  if (ready) {
    o.log(`dev server: ${o.config.url} answered after ${seconds} s`);
    o.emit([{ type: "setup.output", data: { stream: "stdout", text: `${o.config.url} answers (${seconds} s)\n` } }]);
    note(
      o,
      `${what} is running in the background and answers at ${o.config.url}. Open it with the browser tools (playwright_browser_navigate) to check your changes; do not start another one.${log}`,
    );
    return { ready: true, stop };
  }
  const why = exited
    ? `${exited} before ${o.config.url} answered`
    : `did not answer at ${o.config.url} within ${Math.round(o.config.waitMs / 1000)} s`;
  await stop();
  const message = `${what} ${why}${exited || !o.config.devServer ? "" : " and was stopped"}; continuing without it`;
  o.log(`dev server: ${message}`);
  o.emit([{ type: "error", data: { message, code: exited ? "dev_server_failed" : "dev_server_timeout" } }]);
  note(
    o,
    `${what} ${why}, so it is not running.${log} If you need it, start it yourself in the background and open ${o.config.url} with the browser tools.`,
  );
  return { ready: false, stop };
}

/** The agent's note (one of its instruction files): readable in the jail, not writable there. */
function note(o: DevServerOptions, text: string) {
  try {
    mkdirSync(path.dirname(o.noteFile), { recursive: true });
    writeFileSync(o.noteFile, `# The repository's dev server (Inspect)\n\n${text}\n`, { mode: 0o644 });
  } catch (error) {
    o.log(`dev server: the agent's note could not be written: ${(error as Error).message}`);
  }
}
