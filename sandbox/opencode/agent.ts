/**
 * OpenCode for one sandbox: the server process (started early, before the checkout exists),
 * then — once the checkout is ready — a client bound to it, the event hub, the OpenCode
 * session every prompt of this Inspect session runs in, and a warm-up turn (warmup.ts) so
 * the first prompt does not pay OpenCode's lazy first-prompt setup.
 */
import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk/v2";
import { opencodeVersion, resolveOpencodeBinary } from "./binary.js";
import { opencodeEnv, prepareXdg } from "./env.js";
import { EventHub } from "./event-hub.js";
import { startOpencodeServer, type OpencodeServer } from "./server.js";
import { warmUp } from "./warmup.js";

export interface AgentServerOptions {
  /** Folder for OpenCode's XDG dirs (config, data, cache, state). */
  home: string;
  /** Any existing folder to start the server in. */
  cwd: string;
  config: Record<string, unknown>;
  baseEnv?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  onLog?: (line: string) => void;
}

export async function startAgentServer(options: AgentServerOptions): Promise<OpencodeServer> {
  const xdg = prepareXdg(options.home, opencodeVersion());
  return startOpencodeServer({
    binary: resolveOpencodeBinary(options.baseEnv ?? process.env),
    env: opencodeEnv(options.baseEnv ?? process.env, xdg, options.config),
    cwd: options.cwd,
    timeoutMs: options.timeoutMs,
    onLog: options.onLog,
  });
}

export interface Workspace {
  client: OpencodeClient;
  hub: EventHub;
  sessionID: string;
  directory: string;
}

/** Bind to the checkout: event stream first (so no event is missed), then the session. */
export async function openWorkspace(server: OpencodeServer, directory: string, title: string, options: { warm?: boolean } = {}): Promise<Workspace> {
  const client = createOpencodeClient({ baseUrl: server.url, directory });
  const hub = new EventHub(client).start();
  const created = await client.session.create({ title });
  if (!created.data) throw new Error(`OpenCode could not create a session: ${JSON.stringify(created.error ?? "no data")}`);
  await hub.ready;
  if (options.warm !== false) await warmUp(client, hub);
  return { client, hub, sessionID: created.data.id, directory };
}
