/** The MCP servers Inspect adds to the agent's OpenCode config: its own tools, and the browser if offered. */
import type { SessionSpec } from "../../protocol/runner-api.js";
import { withBrowser } from "./browser.js";
import type { ToolHost } from "./host.js";
import { withInspectTools } from "./inspect-tools.js";

export function agentOpencodeConfig(
  config: Record<string, unknown>,
  tools: ToolHost | null,
  browser: SessionSpec["browser"],
  box: string,
): Record<string, unknown> {
  const withTools = tools ? withInspectTools(config, tools.url) : config;
  return withBrowser(withTools, browser, box);
}
