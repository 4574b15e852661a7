/**
 * The environment OpenCode (and the setup script) run in: own XDG folders, offline-safe
 * switches, and none of the runner's credentials — the agent's bash tool can read its
 * environment, so the session token, OIDC request token and git token never enter it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Variables a child of the sandbox must never see. */
const SECRET_NAME =
  /^(INSPECT_.*|ACTIONS_ID_TOKEN_REQUEST_.*|ACTIONS_RUNTIME_TOKEN|ACTIONS_RESULTS_URL|GITHUB_TOKEN|GH_TOKEN|GIT_ASKPASS|GIT_CONFIG_.*|OPENCODE_CONFIG_CONTENT)$/;

export function scrubEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !SECRET_NAME.test(key)) out[key] = value;
  }
  return out;
}

export interface XdgDirs {
  config: string;
  data: string;
  cache: string;
  state: string;
}

export function xdgDirs(root: string): XdgDirs {
  return {
    config: path.join(root, "config"),
    data: path.join(root, "data"),
    cache: path.join(root, "cache"),
    state: path.join(root, "state"),
  };
}

export function opencodeEnv(base: NodeJS.ProcessEnv, xdg: XdgDirs, configContent: unknown): Record<string, string> {
  return {
    ...scrubEnv(base),
    XDG_CONFIG_HOME: xdg.config,
    XDG_DATA_HOME: xdg.data,
    XDG_CACHE_HOME: xdg.cache,
    XDG_STATE_HOME: xdg.state,
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_CLAUDE_CODE: "1",
    OPENCODE_CONFIG_CONTENT: JSON.stringify(configContent),
  };
}

/**
 * OpenCode npm-installs `@opencode-ai/plugin@<version>` into its config dir on every start
 * unless the dir already has node_modules, a package.json with the dependency and a v3 lock
 * listing it. Offline, that install would stall startup; seeding the three files skips it.
 */
export function seedPluginInstall(configDir: string, version: string): void {
  mkdirSync(path.join(configDir, "node_modules", "@opencode-ai", "plugin"), { recursive: true });
  const dep = { "@opencode-ai/plugin": version };
  writeFileSync(path.join(configDir, "package.json"), JSON.stringify({ dependencies: dep }, null, 2));
  writeFileSync(
    path.join(configDir, "package-lock.json"),
    JSON.stringify(
      {
        name: "opencode",
        lockfileVersion: 3,
        requires: true,
        packages: {
          "": { dependencies: dep },
          "node_modules/@opencode-ai/plugin": { version },
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    path.join(configDir, "node_modules", "@opencode-ai", "plugin", "package.json"),
    JSON.stringify({ name: "@opencode-ai/plugin", version }),
  );
}

export function prepareXdg(root: string, version: string): XdgDirs {
  const dirs = xdgDirs(root);
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  seedPluginInstall(path.join(dirs.config, "opencode"), version);
  return dirs;
}
