/** Inspect's own tools for the agent (child sessions), and how OpenCode is told of them. */
import { deepMerge } from "../opencode/config.js";
import { ChildrenApi, type SessionCredential } from "./children-api.js";
import { registerChildTools } from "./child-tools.js";
import { startToolHost, type ToolHost } from "./host.js";

/** OpenCode prefixes each tool with this (`inspect_spawn_session`). */
const INSPECT_MCP_NAME = "inspect";

export function startInspectTools(
  credential: () => SessionCredential | null,
  log?: (line: string) => void,
): Promise<ToolHost> {
  const api = new ChildrenApi(credential);
  return startToolHost(INSPECT_MCP_NAME, (server) => registerChildTools(server, api), log);
}

/** The OpenCode config with our server added (over any operator entry of the same name). */
export function withInspectTools(config: Record<string, unknown>, url: string): Record<string, unknown> {
  return deepMerge(config, {
    mcp: {
      [INSPECT_MCP_NAME]: {
        type: "remote",
        url,
        enabled: true,
        // Nothing to sign in to: without this OpenCode probes for OAuth on an error.
        oauth: false,
        // Spawning dispatches a runner, which may take longer than OpenCode's 5 s default.
        timeout: 60_000,
      },
    },
  });
}
