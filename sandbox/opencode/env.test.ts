import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { opencodeEnv, scrubEnv, seedPluginInstall, xdgDirs } from "./env.js";

describe("the environment OpenCode and the setup script get", () => {
  const runner = {
    PATH: "/usr/bin",
    HOME: "/home/runner",
    INSPECT_RUNNER_TOKEN: "claim-secret",
    INSPECT_CONTROL_PLANE_URL: "http://cp",
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc-request-secret",
    ACTIONS_ID_TOKEN_REQUEST_URL: "https://token",
    ACTIONS_RUNTIME_TOKEN: "runtime-secret",
    GITHUB_TOKEN: "gh-secret",
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.https://github.com/.extraHeader",
    GIT_CONFIG_VALUE_0: "Authorization: Basic c2VjcmV0",
  };

  it("holds none of the runner's credentials", () => {
    expect(scrubEnv(runner)).toEqual({ PATH: "/usr/bin", HOME: "/home/runner" });
  });

  it("points OpenCode at its own folders, offline-safe, with the config inline", () => {
    const env = opencodeEnv(runner, xdgDirs("/work/s1/opencode"), { autoupdate: false });
    expect(env).toMatchObject({
      XDG_CONFIG_HOME: "/work/s1/opencode/config",
      XDG_DATA_HOME: "/work/s1/opencode/data",
      XDG_CACHE_HOME: "/work/s1/opencode/cache",
      XDG_STATE_HOME: "/work/s1/opencode/state",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_CONFIG_CONTENT: '{"autoupdate":false}',
    });
    expect(env.INSPECT_RUNNER_TOKEN).toBeUndefined();
    expect(env.GIT_CONFIG_VALUE_0).toBeUndefined();
  });

  it("seeds the plugin install so OpenCode does not run npm at start", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "oc-seed-"));
    seedPluginInstall(dir, "1.2.3");
    expect(JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"))).toEqual({
      dependencies: { "@opencode-ai/plugin": "1.2.3" },
    });
    const lock = JSON.parse(readFileSync(path.join(dir, "package-lock.json"), "utf8"));
    expect(lock.lockfileVersion).toBe(3);
    expect(lock.packages["node_modules/@opencode-ai/plugin"].version).toBe("1.2.3");
    expect(existsSync(path.join(dir, "node_modules"))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});
