/**
 * Find the pinned OpenCode binary in node_modules. `opencode-ai/bin/opencode.exe` is the
 * real binary only when its postinstall ran (npm 11 blocks install scripts unless allowed);
 * otherwise it is a small stub and the platform package's binary is used directly.
 */
import { execFile } from "node:child_process";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";

const require = createRequire(import.meta.url);

/** Platform packages opencode-ai lists as optional dependencies, best match first. */
export function platformPackages(platform = process.platform, arch = process.arch): string[] {
  const os = platform === "win32" ? "windows" : platform;
  const base = `opencode-${os}-${arch}`;
  return [base, `${base}-baseline`, `${base}-musl`, `${base}-baseline-musl`];
}

/** A native executable starts with an ELF or Mach-O magic number; the stub is a script. */
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
    return magic === 0x7f454c46 || magic === 0xcffaedfe || magic === 0xcefaedfe || head.subarray(0, 2).toString() === "MZ";
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

export function resolveOpencodeBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.INSPECT_OPENCODE_BIN;
  if (override) {
    if (!existsSync(override)) throw new Error(`INSPECT_OPENCODE_BIN points to ${override}, which does not exist`);
    return override;
  }
  const candidates: string[] = [];
  const main = packageDir("opencode-ai");
  if (main) candidates.push(path.join(main, "bin", "opencode.exe"), path.join(main, "bin", "opencode"));
  for (const name of platformPackages()) {
    const dir = packageDir(name);
    if (dir) candidates.push(path.join(dir, "bin", process.platform === "win32" ? "opencode.exe" : "opencode"));
  }
  const found = candidates.find(isNativeExecutable);
  if (!found) {
    throw new Error(
      `OpenCode binary not found (looked at ${candidates.join(", ") || "no opencode-ai package"}); run \`npm ci\` in the Inspect checkout or set INSPECT_OPENCODE_BIN`,
    );
  }
  return found;
}

/**
 * The version OpenCode's plugin install is keyed on (prepareXdg seeds it so nothing is
 * downloaded): the pinned package's, or — for a binary given as INSPECT_OPENCODE_BIN — its own
 * answer to `--version`, asked once per process.
 */
export async function opencodeVersion(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<string> {
  const override = env.INSPECT_OPENCODE_BIN;
  if (override) {
    let asked = askedVersions.get(override);
    if (!asked) {
      asked = execFileAsync(override, ["--version"], { encoding: "utf8", timeout: 30_000, signal }).then(({ stdout }) => {
        const version = /\d+\.\d+\.\d+[\w.+-]*/.exec(stdout)?.[0];
        if (!version) throw new Error(`${override} --version answered ${JSON.stringify(stdout.slice(0, 200))}, not a version`);
        return version;
      });
      askedVersions.set(override, asked);
      asked.catch(() => askedVersions.delete(override));
    }
    return asked;
  }
  const dir = packageDir("opencode-ai");
  if (!dir) throw new Error("the opencode-ai package is not installed; run `npm ci` in the Inspect checkout or set INSPECT_OPENCODE_BIN");
  return (require(path.join(dir, "package.json")) as { version: string }).version;
}

const askedVersions = new Map<string, Promise<string>>();
const execFileAsync = promisify(execFile);
