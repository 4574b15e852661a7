import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isNativeExecutable, opencodeVersion, platformPackages, resolveOpencodeBinary } from "./binary.js";

describe("OpenCode binary", () => {
  it("finds the pinned native binary in node_modules", async () => {
    const binary = resolveOpencodeBinary({});
    expect(isNativeExecutable(binary)).toBe(true);
    expect(await opencodeVersion({})).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("tells a postinstall stub (a script) from the real binary", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "oc-bin-"));
    const stub = path.join(dir, "opencode.exe");
    writeFileSync(stub, "#!/usr/bin/env node\nconsole.log('stub')\n");
    expect(isNativeExecutable(stub)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it("honours INSPECT_OPENCODE_BIN, and says clearly when it is wrong", () => {
    expect(() => resolveOpencodeBinary({ INSPECT_OPENCODE_BIN: "/nonexistent/opencode" })).toThrow("INSPECT_OPENCODE_BIN points to /nonexistent/opencode, which does not exist");
  });

  it("asks a binary given as INSPECT_OPENCODE_BIN for its own version (the plugin install is keyed on it)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "oc-bin-"));
    try {
      const other = path.join(dir, "opencode");
      writeFileSync(other, "#!/bin/sh\necho 9.8.7\n", { mode: 0o755 });
      expect(await opencodeVersion({ INSPECT_OPENCODE_BIN: other })).toBe("9.8.7");
      const mute = path.join(dir, "mute");
      writeFileSync(mute, "#!/bin/sh\necho hello\n", { mode: 0o755 });
      await expect(opencodeVersion({ INSPECT_OPENCODE_BIN: mute })).rejects.toThrow('answered "hello\\n", not a version');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("looks for the platform packages opencode-ai ships", () => {
    expect(platformPackages("linux", "x64")).toEqual(["opencode-linux-x64", "opencode-linux-x64-baseline", "opencode-linux-x64-musl", "opencode-linux-x64-baseline-musl"]);
    expect(platformPackages("win32", "arm64")[0]).toBe("opencode-windows-arm64");
  });
});
