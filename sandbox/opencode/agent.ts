/**
 * OpenCode for one sandbox: the server process (started early, before the checkout exists),
 * then — once the checkout is ready — a client bound to it, the event hub, the OpenCode
 * session every prompt of this Inspect session runs in, and a warm-up turn (warmup.ts) so
 * the first prompt does not pay OpenCode's lazy first-prompt setup.
 */
import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk/v2";
import type { Jail } from "../jail/jail.js";
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
  /** The session jail to run in; its folders are handed to the sandbox user. */
  jail?: Jail | null;
  /** The repository's own OpenCode config may add MCP servers, plugins and providers (INSPECT_TRUST_REPO_CONFIG). */
  trustRepoConfig?: boolean;
  timeoutMs?: number;
  onLog?: (line: string) => void;
  /** Cancels a start that is still under way (the process is killed). */
  signal?: AbortSignal;
}

export async function startAgentServer(options: AgentServerOptions): Promise<OpencodeServer> {
  const xdg = prepareXdg(options.home, await opencodeVersion(options.baseEnv ?? process.env, options.signal));
  options.jail?.own(options.home);
  const env = opencodeEnv(options.jail ? options.jail.env() : (options.baseEnv ?? process.env), xdg, options.config);
  // The repository's opencode.json/.opencode may not widen the agent's reach: Inspect reads the
  // parts it allows (instructions) itself, see repo-config.ts.
  if (!options.trustRepoConfig) env.OPENCODE_DISABLE_PROJECT_CONFIG = "1";
  return startOpencodeServer({
    binary: resolveOpencodeBinary(options.baseEnv ?? process.env),
    env,
    jail: options.jail,
    cwd: options.cwd,
    timeoutMs: options.timeoutMs,
    onLog: options.onLog,
    signal: options.signal,
  });
}

export interface Workspace {
  client: OpencodeClient;
  hub: EventHub;
  sessionID: string;
  directory: string;
}

/**
 * Bind to the checkout: event stream first (so no event is missed), then the session.
 * Cancelling closes the event stream at once: otherwise it would keep retrying a server
 * that is being killed, and keep the sandbox process alive for its retry budget.
 */
export async function openWorkspace(
  server: OpencodeServer,
  directory: string,
  title: string,
  options: { warm?: boolean; signal?: AbortSignal } = {},
): Promise<Workspace> {
  const client = createOpencodeClient({ baseUrl: server.url, directory });
  const hub = new EventHub(client).start();
  const cancelled = new Promise<never>((_, reject) => {
    const cancel = () => {
      hub.close();
      reject(new Error("opening the workspace was cancelled"));
    };
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener("abort", cancel, { once: true });
  });
  cancelled.catch(() => undefined);
  try {
    const created = await Promise.race([client.session.create({ title }), cancelled]);
    if (!created.data)
      throw new Error(`OpenCode could not create a session: ${JSON.stringify(created.error ?? "no data")}`);
    await Promise.race([hub.ready, cancelled]);
    if (options.warm !== false) await Promise.race([warmUp(client, hub), cancelled]);
    return { client, hub, sessionID: created.data.id, directory };
  } catch (error) {
    hub.close();
    throw error;
  }
}
