/** The GitHub Action: the committed bundle is current, runnable, and its contract is what the control plane dispatches. */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

describe("action bundle", () => {
  it("action/dist/index.js is what `npm run build:action` produces from the current sources", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "action-build-"));
    const out = path.join(dir, "index.js");
    await run(process.execPath, [path.join(root, "action", "build.mjs"), out], { cwd: os.tmpdir() });
    const fresh = readFileSync(out, "utf8");
    rmSync(dir, { recursive: true, force: true });
    const committed = read("action/dist/index.js");
    // On failure: run `npm run build:action` and commit action/dist.
    expect(committed.length).toBe(fresh.length);
    expect(committed === fresh).toBe(true);
  }, 60_000);

  it("runs, and fails with a clear message when the job cannot get an OIDC token", async () => {
    const env = {
      PATH: process.env.PATH!,
      "INPUT_SESSION-ID": "abc123",
      "INPUT_CONTROL-PLANE-URL": "http://127.0.0.1:9",
    };
    const result = await run(process.execPath, [path.join(root, "action", "dist", "index.js")], { env }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e) => ({ code: e.code as number, stdout: String(e.stdout) }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "::error::Could not get an OIDC token (does the workflow have `permissions: id-token: write`?)",
    );
  });

  it("pins the same OpenCode the repository tests with", () => {
    const rootPkg = JSON.parse(read("package.json"));
    const actionPkg = JSON.parse(read("action/package.json"));
    const lock = JSON.parse(read("action/package-lock.json"));
    const rootLock = JSON.parse(read("package-lock.json"));
    // OpenCode's platform packages as the root pins them, and the agent's browser (@playwright/mcp, a
    // command OpenCode starts; optional like the browser: a runner without it offers none) at the root's pin.
    const { "@playwright/mcp": browser, ...opencodePins } = actionPkg.optionalDependencies;
    expect(opencodePins).toEqual(rootPkg.optionalDependencies);
    expect(browser).toBe(rootPkg.dependencies["@playwright/mcp"]);
    expect(actionPkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(rootPkg.optionalDependencies).sort()).toEqual([
      "opencode-linux-x64",
      "opencode-linux-x64-baseline",
    ]);
    for (const [name, version] of Object.entries(rootPkg.optionalDependencies)) {
      expect(version).toMatch(/^\d+\.\d+\.\d+$/); // exact
      expect(lock.packages[`node_modules/${name}`]).toMatchObject({
        version,
        optional: true,
        integrity: rootLock.packages[`node_modules/${name}`].integrity,
      });
    }
    // Beside OpenCode only the browser and what it depends on, as action/package-lock.json resolves it.
    const wanted = new Set<string>();
    const walk = (name: string) => {
      const key = `node_modules/${name}`;
      if (wanted.has(key) || !lock.packages[key]) return;
      wanted.add(key);
      for (const dep of Object.keys(lock.packages[key].dependencies ?? {})) walk(dep);
    };
    walk("@playwright/mcp");
    expect(lock.packages["node_modules/@playwright/mcp"].version).toBe(rootPkg.dependencies["@playwright/mcp"]);
    const opencode = Object.keys(rootPkg.optionalDependencies).map((n) => `node_modules/${n}`);
    expect(
      Object.keys(lock.packages)
        .filter((p) => p !== "" && !opencode.includes(p))
        .sort(),
    ).toEqual([...wanted].sort());
  });
});

describe("action and runner workflow contract", () => {
  it("action.yml runs the bundle on node24 with the inputs the dispatcher sends: session-id or slot-id, and control-plane-url", () => {
    const yml = read("action/action.yml");
    expect(yml).toMatch(/^runs:\n {2}using: node24\n {2}main: dist\/index\.js$/m);
    // One of the two, the action checks which: neither is required on its own.
    expect(yml).toMatch(/^ {2}session-id:\n(?: {4}.*\n)*? {4}required: false$/m);
    expect(yml).toMatch(/^ {2}slot-id:\n(?: {4}.*\n)*? {4}required: false$/m);
    expect(yml).toMatch(/^ {2}control-plane-url:\n(?: {4}.*\n)*? {4}required: true$/m);
  });

  it("fails with a clear message given both session-id and slot-id, or neither", async () => {
    const action = path.join(root, "action", "dist", "index.js");
    const stdout = (env: Record<string, string>) =>
      run(process.execPath, [action], {
        env: { PATH: process.env.PATH!, "INPUT_CONTROL-PLANE-URL": "http://127.0.0.1:9", ...env },
      }).then(
        () => "exit 0",
        (e) => String(e.stdout),
      );
    expect(await stdout({ "INPUT_SESSION-ID": "abc123", "INPUT_SLOT-ID": "def456" })).toContain(
      "::error::Give the action session-id or slot-id, not both",
    );
    expect(await stdout({})).toContain("::error::Give the action session-id or slot-id");
  });

  it("the runner workflow template takes session_id or slot_id and control_plane_url, runs on the inspect label and may request OIDC", () => {
    const yml = read(".github/runner/inspect-runner.yml");
    expect(yml).toMatch(/^ {2}workflow_dispatch:\n {4}inputs:\n {6}session_id:/m);
    expect(yml).toMatch(/^ {6}slot_id:/m);
    expect(yml).toContain("slot-id: ${{ inputs.slot_id }}");
    expect(yml).toMatch(/^ {6}control_plane_url:/m);
    expect(yml).toMatch(/^ {4}runs-on: \[self-hosted, inspect\]$/m);
    expect(yml).toMatch(/^permissions:\n {2}id-token: write.*\n {2}contents: read$/m);
    expect(yml).toContain("session-id: ${{ inputs.session_id }}");
    expect(yml).toContain("control-plane-url: ${{ inputs.control_plane_url }}");
  });
});
