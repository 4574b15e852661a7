/**
 * A complete local Inspect for sandbox end-to-end tests: the real control plane in-process
 * (PGlite in memory, local runner), the real sandbox spawned by its local dispatcher, the
 * real OpenCode, and only the model provider replaced — by the scripted model server.
 * The "repository" is a bare git repository in a temp dir; the branch lands there.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../app/config.js";
import { openDatabase, type Database } from "../../app/db/client.js";
import type { SessionEvent } from "../../protocol/events.js";
import { createInspect, type Inspect } from "../../app/server.js";
import { startModelServer, type ModelServer } from "./model-server.js";

export interface Harness {
  inspect: Inspect;
  url: string;
  model: ModelServer;
  root: string;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    idleTimeoutSeconds?: number;
    setupTimeoutSeconds?: number;
    turnTimeoutMinutes?: number;
    database?: Database;
    /** OpenCode's providers (default: the scripted model, unpriced). */
    providers?: (model: ModelServer) => Record<string, unknown>;
    /** More configuration (e.g. budgets). */
    env?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const root = mkdtempSync(path.join(os.tmpdir(), "inspect-sbx-"));
  const model = await startModelServer();
  const database = opts.database ?? (await openDatabase({ dataDir: "memory://" }));
  const config = loadConfig({
    INSPECT_RUNNER: "local",
    INSPECT_DATA_DIR: path.join(root, "data"),
    INSPECT_SECRET: "s".repeat(40),
    INSPECT_MODEL: "scripted/scripted-model",
    INSPECT_OPENCODE_CONFIG: JSON.stringify({ provider: opts.providers?.(model) ?? model.opencodeProvider() }),
    INSPECT_IDLE_TIMEOUT: String(opts.idleTimeoutSeconds ?? 3),
    INSPECT_SETUP_TIMEOUT: String(opts.setupTimeoutSeconds ?? 60),
    INSPECT_HEARTBEAT_TIMEOUT: "30",
    // No warm pool unless a test asks for one (app/pool): each pooled sandbox is an OpenCode.
    INSPECT_POOL_SIZE: "0",
    // No browser unless a test asks for one (INSPECT_BROWSER=auto): it adds an MCP server to
    // every OpenCode boot (README → A browser in the sandbox).
    INSPECT_BROWSER: "off",
    ...(opts.turnTimeoutMinutes ? { INSPECT_TURN_TIMEOUT: String(opts.turnTimeoutMinutes) } : {}),
    ...opts.env,
  });
  // INSPECT_TEST_LOG_LEVEL=info shows the control plane's log when a suite needs investigating.
  const logLevel = (process.env.INSPECT_TEST_LOG_LEVEL ?? "fatal") as "fatal";
  const inspect = await createInspect(config, { database, logLevel });
  const { url } = await inspect.listen(0, "127.0.0.1");
  return {
    inspect,
    url,
    model,
    root,
    async close() {
      await inspect.close();
      await model.close();
      if (!opts.database) await database.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export { git } from "./git.js";
import { git } from "./git.js";

/** A bare repository with one commit on main; `files` go into that commit. */
export function bareRepo(
  root: string,
  name: string,
  files: Record<string, string> = { "README.md": "# demo\n" },
): string {
  const work = path.join(root, `${name}-seed`);
  const bare = path.join(root, `${name}.git`);
  mkdirSync(work, { recursive: true });
  git(work, "init", "-q", "-b", "main");
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    writeFileSync(path.join(work, file), content, { mode: file.endsWith(".sh") ? 0o755 : 0o644 });
  }
  git(work, "add", "-A");
  git(work, "commit", "-q", "-m", "initial");
  git(root, "clone", "-q", "--bare", work, bare);
  // The developer's own identity there: local-mode commits are authored as it.
  git(bare, "config", "user.name", "Dev Eloper");
  git(bare, "config", "user.email", "dev@example.com");
  return bare;
}

/**
 * A kept-alive connection the server closes as the next request goes out fails that request
 * ("other side closed"); HTTP lets a client send an idempotent request again (RFC 9110 §9.2.2),
 * as browsers do. Seen on the loaded 2-core machine while polling a session's events.
 */
function closedUnderfoot(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } })?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET";
}

export async function api<T = any>(h: Harness, method: string, route: string, body?: unknown): Promise<T> {
  const send = () =>
    fetch(h.url + route, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const res = await send().catch((error: unknown) => {
    if (method === "GET" && closedUnderfoot(error)) return send();
    throw error;
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** The session's events after `after` (a seq), every page of them. */
async function eventsAfter(h: Harness, sessionId: string, after: number): Promise<SessionEvent[]> {
  const out: SessionEvent[] = [];
  for (let cursor: number | null = after; cursor !== null;) {
    const page: { events: SessionEvent[]; next: number | null } = await api(
      h,
      "GET",
      `/api/sessions/${sessionId}/events?after=${cursor}`,
    );
    out.push(...page.events);
    cursor = page.next;
  }
  return out;
}

export async function events(h: Harness, sessionId: string): Promise<SessionEvent[]> {
  return eventsAfter(h, sessionId, 0);
}

/** Poll the event log until `until` holds (or fail after timeoutMs with the log so far). */
export async function waitForEvents(
  h: Harness,
  sessionId: string,
  until: (log: SessionEvent[]) => boolean,
  timeoutMs = 60_000,
): Promise<SessionEvent[]> {
  const deadline = Date.now() + timeoutMs;
  const log: SessionEvent[] = [];
  while (Date.now() < deadline) {
    // Only what is new since the last poll, every page of it (one read of `since=0` stops at 1,000).
    log.push(...(await eventsAfter(h, sessionId, log.at(-1)?.seq ?? 0)));
    if (until(log)) return log;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    `timed out; events so far:\n${log.map((e) => `${e.seq} ${e.type} ${JSON.stringify(e.data).slice(0, 200)}`).join("\n")}`,
  );
}

export async function waitForStatus(
  h: Harness,
  sessionId: string,
  statuses: string[],
  timeoutMs = 60_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let status = "";
  while (Date.now() < deadline) {
    status = (await api(h, "GET", `/api/sessions/${sessionId}`)).session.status;
    if (statuses.includes(status)) return status;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`session ${sessionId} stayed ${status}, expected ${statuses.join("/")}`);
}

/**
 * Processes whose environment or command line mentions `needle` (the harness root: every
 * sandbox, OpenCode server and tool process started for it carries a path under it).
 */
export function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      if (environ.includes(needle) || cmdline.includes(needle)) found.push(`${pid} ${cmdline}`);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Wait until no process mentions `needle` (the sandbox may still be tidying up). */
export async function waitForNoProcesses(needle: string, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = processesMentioning(needle);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = processesMentioning(needle);
  }
  return left;
}
