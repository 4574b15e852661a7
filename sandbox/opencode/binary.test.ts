import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  findPinnedOpencode,
  isNativeExecutable,
  opencodeVersion,
  platformPackages,
  resolveOpencodeBinary,
  thisHost,
  type Host,
} from "./binary.js";

describe("OpenCode binary", () => {
  it("finds the pinned native binary in node_modules: the platform package that fits this machine, at the version package.json pins", async () => {
    const binary = resolveOpencodeBinary({});
    expect(isNativeExecutable(binary)).toBe(true);
    const pinned = JSON.parse(
      readFileSync(path.join(import.meta.dirname, "../../package.json"), "utf8"),
    ).optionalDependencies;
    const found = findPinnedOpencode();
    expect(found.binary).toBe(binary);
    expect(found.package).toBe(platformPackages(thisHost())[0]);
    expect(await opencodeVersion({})).toBe(pinned[found.package]);
  });

  it("says which platform has no OpenCode and to set INSPECT_OPENCODE_BIN", () => {
    const musl: Host = { platform: "linux", arch: "x64", musl: true, avx2: true };
    expect(() => findPinnedOpencode(musl)).toThrow(
      "No OpenCode binary for linux-x64 (musl): Inspect installs the pinned OpenCode only for Linux x64 (glibc) (looked for opencode-linux-x64-musl, opencode-linux-x64-baseline-musl); " +
        "on linux-x64 (musl) set INSPECT_OPENCODE_BIN to an OpenCode binary of the version in package.json's optionalDependencies.",
    );
    expect(() => findPinnedOpencode({ platform: "darwin", arch: "arm64", musl: false, avx2: false })).toThrow(
      /^No OpenCode binary for darwin-arm64: .*set INSPECT_OPENCODE_BIN/,
    );
  });

  it("tells a script from the real binary", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "oc-bin-"));
    const stub = path.join(dir, "opencode.exe");
    writeFileSync(stub, "#!/usr/bin/env node\nconsole.log('stub')\n");
    expect(isNativeExecutable(stub)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it("honours INSPECT_OPENCODE_BIN, and says clearly when it is wrong", () => {
    expect(() => resolveOpencodeBinary({ INSPECT_OPENCODE_BIN: "/nonexistent/opencode" })).toThrow(
      "INSPECT_OPENCODE_BIN points to /nonexistent/opencode, which does not exist",
    );
  });

  it("asks a binary given as INSPECT_OPENCODE_BIN for its own version (the plugin install is keyed on it)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "oc-bin-"));
    try {
      const other = path.join(dir, "opencode");
      writeFileSync(other, "#!/bin/sh\necho 9.8.7\n", { mode: 0o755 });
      expect(await opencodeVersion({ INSPECT_OPENCODE_BIN: other })).toBe("9.8.7");
      const mute = path.join(dir, "mute");
      writeFileSync(mute, "#!/bin/sh\necho hello\n", { mode: 0o755 });
      await expect(opencodeVersion({ INSPECT_OPENCODE_BIN: mute })).rejects.toThrow(
        'answered "hello\\n", not a version',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("picks OpenCode's platform package as opencode-ai's postinstall does: -baseline without AVX2, -musl on musl", () => {
    const linux = { platform: "linux", arch: "x64", musl: false, avx2: true } as const;
    expect(platformPackages(linux)).toEqual(["opencode-linux-x64", "opencode-linux-x64-baseline"]);
    expect(platformPackages({ ...linux, avx2: false })).toEqual(["opencode-linux-x64-baseline", "opencode-linux-x64"]);
    expect(platformPackages({ ...linux, musl: true, avx2: false })).toEqual([
      "opencode-linux-x64-baseline-musl",
      "opencode-linux-x64-musl",
    ]);
    expect(platformPackages({ ...linux, arch: "arm64", avx2: false })).toEqual(["opencode-linux-arm64"]);
    expect(platformPackages({ platform: "win32", arch: "arm64", musl: false, avx2: false })).toEqual([
      "opencode-windows-arm64",
    ]);
    // This machine: what /proc/cpuinfo says.
    const avx2 = /\bavx2\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
    expect(thisHost()).toMatchObject({ platform: "linux", arch: "x64", musl: false, avx2 });
  });
});
