/**
 * Find the pinned OpenCode binary. Inspect depends on OpenCode's per-platform npm packages
 * directly (`optionalDependencies` in package.json and action/package.json, exact version,
 * locked with their integrity) rather than on the `opencode-ai` wrapper, whose twelve optional
 * platform packages all have to be in a lockfile for `npm ci` to accept it. npm installs the
 * packages whose `os`/`cpu` match this machine; here the one that fits is picked (as
 * opencode-ai's own postinstall would: `-baseline` when the CPU lacks AVX2, `-musl` on musl)
 * and run directly. Elsewhere: INSPECT_OPENCODE_BIN.
 */
import { execFile } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";

const require = createRequire(import.meta.url);

/** Where Inspect installs OpenCode by itself: the platform packages in its optionalDependencies. */
const INSTALLED_PLATFORMS = "Linux x64 (glibc)";

export interface Host {
  platform: NodeJS.Platform;
  arch: string;
  /** Linux with musl libc (Alpine) rather than glibc. */
  musl: boolean;
  /** The CPU has AVX2 (else OpenCode's `-baseline` build is the one that runs). */
  avx2: boolean;
}

let host: Host | null = null;
/** This machine, looked at once per process. */
export function thisHost(): Host {
  host ??= { platform: process.platform, arch: process.arch, musl: isMusl(), avx2: hasAvx2() };
  return host;
}

function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  // Node reports the glibc it runs on; a Node built against musl has none.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return !header?.glibcVersionRuntime;
}

function hasAvx2(): boolean {
  if (process.arch !== "x64") return false;
  if (process.platform !== "linux") return true; // OpenCode's packages elsewhere are not installed by Inspect; prefer the regular build.
  try {
    return /^flags\s*:.*\savx2(?:\s|$)/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}

/** OpenCode's platform packages that can run on `h`, best first (the order of opencode-ai's postinstall). */
export function platformPackages(h: Host = thisHost()): string[] {
  const os = h.platform === "win32" ? "windows" : h.platform;
  const base = `opencode-${os}-${h.arch}`;
  const libc = h.musl ? "-musl" : "";
  if (h.arch !== "x64") return [`${base}${libc}`];
  const [first, second] = h.avx2 ? [base, `${base}-baseline`] : [`${base}-baseline`, base];
  return [`${first}${libc}`, `${second}${libc}`];
}

/** A native executable starts with an ELF, Mach-O or PE magic number (not a script, not a truncated download). */
export function isNativeExecutable(file: string): boolean {
  try {
    if (statSync(file).size < 1_000_000) return false;
    const fd = openSync(file, "r");
    const head = Buffer.alloc(4);
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    const magic = head.readUInt32BE(0);
    return (
      magic === 0x7f454c46 || magic === 0xcffaedfe || magic === 0xcefaedfe || head.subarray(0, 2).toString() === "MZ"
    );
  } catch {
    return false;
  }
}

function packageDir(name: string): string | null {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

export interface PinnedOpencode {
  /** The platform package it came from, e.g. opencode-linux-x64. */
  package: string;
  binary: string;
  version: string;
}

/** The installed platform package that fits this machine, or an error that says what to do instead. */
export function findPinnedOpencode(h: Host = thisHost()): PinnedOpencode {
  const names = platformPackages(h);
  const looked: string[] = [];
  for (const name of names) {
    const dir = packageDir(name);
    if (!dir) continue;
    const binary = path.join(dir, "bin", h.platform === "win32" ? "opencode.exe" : "opencode");
    looked.push(binary);
    if (!isNativeExecutable(binary)) continue;
    const { version } = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string };
    return { package: name, binary, version };
  }
  const platform = `${h.platform}-${h.arch}${h.platform === "linux" ? (h.musl ? " (musl)" : " (glibc)") : ""}`;
  if (isInstalledPlatform(h)) {
    throw new Error(
      `OpenCode for ${platform} is not installed: none of ${names.join(", ")} ${looked.length ? `has a native binary (looked at ${looked.join(", ")})` : "is in node_modules"}. ` +
        "Run `npm ci` in the Inspect checkout (`npm ci --prefix action` for the action) and check its output — npm skips an optional package it could not download without failing — or set INSPECT_OPENCODE_BIN.",
    );
  }
  throw new Error(
    `No OpenCode binary for ${platform}: Inspect installs the pinned OpenCode only for ${INSTALLED_PLATFORMS} (looked for ${names.join(", ")}); ` +
      `on ${platform} set INSPECT_OPENCODE_BIN to an OpenCode binary of the version in package.json's optionalDependencies.`,
  );
}

/** Whether `npm ci` installs OpenCode on `h` (its package for `h` is in the lockfile). */
function isInstalledPlatform(h: Host): boolean {
  return h.platform === "linux" && h.arch === "x64" && !h.musl;
}

export function resolveOpencodeBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.INSPECT_OPENCODE_BIN;
  if (override) {
    if (!existsSync(override)) throw new Error(`INSPECT_OPENCODE_BIN points to ${override}, which does not exist`);
    return override;
  }
  return findPinnedOpencode().binary;
}

/**
 * The version OpenCode's plugin install is keyed on (prepareXdg seeds it so nothing is
 * downloaded): the platform package's, or — for a binary given as INSPECT_OPENCODE_BIN — its own
 * answer to `--version`, asked once per process.
 */
export async function opencodeVersion(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<string> {
  const override = env.INSPECT_OPENCODE_BIN;
  if (override) {
    let asked = askedVersions.get(override);
    if (!asked) {
      asked = execFileAsync(override, ["--version"], { encoding: "utf8", timeout: 30_000, signal }).then(
        ({ stdout }) => {
          const version = /\d+\.\d+\.\d+[\w.+-]*/.exec(stdout)?.[0];
          if (!version)
            throw new Error(`${override} --version answered ${JSON.stringify(stdout.slice(0, 200))}, not a version`);
          return version;
        },
      );
      askedVersions.set(override, asked);
      asked.catch(() => askedVersions.delete(override));
    }
    return asked;
  }
  return findPinnedOpencode().version;
}

const askedVersions = new Map<string, Promise<string>>();
const execFileAsync = promisify(execFile);
