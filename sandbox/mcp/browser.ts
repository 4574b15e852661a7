/**
 * The agent's headless browser: `@playwright/mcp` as a local MCP server of OpenCode's (so it runs
 * in the jail, as the sandbox user, like every tool), driving the runner's own Chromium with a
 * fresh in-memory profile. Its network is loopback only — the sandbox's own dev servers — plus
 * the hosts the operator allows: every other request goes to a proxy that does not exist, which
 * also catches redirects and requests the page's scripts make;
 * `--allowed-origins` on top makes the refusal a clear one.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { SessionSpec } from "../../protocol/runner-api.js";
import { deepMerge } from "../opencode/config.js";

/** OpenCode names its tools `playwright_<tool>` (`playwright_browser_navigate`). */
const BROWSER_MCP_NAME = "playwright";
/** Debian's package (`apt-get install chromium`). */
const CHROMIUM = "/usr/bin/chromium";
/** Port 9 (discard): nothing listens on it, so a proxied request fails at once. */
const NO_PROXY = "http://127.0.0.1:9";

/** The @playwright/mcp command line, or null when the runner has no Chromium or no package. */
function playwrightMcp(): string | null {
  if (!existsSync(CHROMIUM)) return null;
  try {
    // The package exports no `cli.js`: found beside its package.json, its `bin`.
    return path.join(path.dirname(createRequire(import.meta.url).resolve("@playwright/mcp/package.json")), "cli.js");
  } catch {
    return null;
  }
}

/** The runner can run the browser: Chromium and the package are there. */
export function browserAvailable(): boolean {
  return playwrightMcp() !== null;
}

/** The OpenCode config with the browser added when the session offers one and the runner can. */
export function withBrowser(
  config: Record<string, unknown>,
  browser: SessionSpec["browser"],
  box: string,
): Record<string, unknown> {
  const cli = browser ? playwrightMcp() : null;
  if (!browser || !cli) return config;
  const operator = Array.isArray(config.instructions) ? (config.instructions as unknown[]) : [];
  const hosts = ["localhost", "127.0.0.1", "[::1]", ...browser.allowHosts];
  const origins = hosts.flatMap((h) => [`http://${h}`, `https://${h}`, `http://${h}:*`, `https://${h}:*`]);
  return deepMerge(config, {
    // What the runtime tells the agent about the repository's dev server (sandbox/dev-server.ts);
    // written before the first turn, absent (and skipped by OpenCode) when there is none.
    instructions: [...operator, browserNoteFile(box)],
    mcp: {
      [BROWSER_MCP_NAME]: {
        type: "local",
        command: [
          process.execPath,
          cli,
          "--headless",
          "--browser",
          "chromium",
          "--executable-path",
          CHROMIUM,
          // The jail is the boundary; Chromium's own sandbox cannot start inside it.
          "--no-sandbox",
          "--isolated",
          "--output-dir",
          browserOutputDir(box),
          "--allowed-origins",
          origins.join(";"),
          "--proxy-server",
          NO_PROXY,
          // Playwright proxies loopback too unless told: loopback and the allowed hosts go direct.
          "--proxy-bypass",
          hosts.join(","),
        ],
        enabled: true,
        timeout: 60_000,
      },
    },
  });
}

/** Where the browser's screenshots and other output go, in the sandbox's own box. */
export function browserOutputDir(box: string): string {
  return path.join(box, "browser");
}

/**
 * The agent's note on the dev server: beside the box, in the session's `xfer` folder, which the
 * session jail sees read-only — the runtime writes it, the agent cannot rewrite it.
 */
export function browserNoteFile(box: string): string {
  return path.join(path.dirname(box), "xfer", "inspect-browser.md");
}

/**
 * What the browser needs to read inside the jail, where the runner's own folders are hidden (an
 * Actions runner's work folder holds the action and its node_modules, its externals the node
 * binary): the node binary and the node_modules folder holding `@playwright/mcp` and Playwright.
 */
export function browserReveal(): string[] {
  const cli = playwrightMcp();
  if (!cli) return [];
  // <node_modules>/@playwright/mcp/cli.js → <node_modules>
  return [process.execPath, path.dirname(path.dirname(path.dirname(cli)))];
}
