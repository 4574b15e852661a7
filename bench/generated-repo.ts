/**
 * The repository the sandbox benchmarks work on: 3,000 source files, and a setup script that
 * "installs" 4,000 dependency files (unpacked from a tar unless the snapshot already has them).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export const SOURCE_FILES = 3_000;
export const DEP_FILES = 4_000;

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "B",
  GIT_AUTHOR_EMAIL: "b@x",
  GIT_COMMITTER_NAME: "B",
  GIT_COMMITTER_EMAIL: "b@x",
};
const sh = (cwd: string, cmd: string, ...args: string[]) =>
  execFileSync(cmd, args, { cwd, env: gitEnv, encoding: "utf8" });

export function generateRepo(root: string): { remote: string; depsTar: string } {
  const seed = path.join(root, "seed");
  for (let i = 0; i < SOURCE_FILES; i++) {
    const dir = path.join(seed, "src", `module${i % 60}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `file${i}.ts`), `export const value${i} = ${i};\n${"// filler line\n".repeat(10)}`);
  }
  writeFileSync(path.join(seed, "package.json"), JSON.stringify({ name: "bench", private: true }));
  writeFileSync(path.join(seed, ".gitignore"), "node_modules/\n");
  mkdirSync(path.join(seed, ".inspect"));
  // "npm ci": unpack the dependency tree unless the snapshot already has it.
  writeFileSync(
    path.join(seed, ".inspect", "setup.sh"),
    `#!/bin/sh\nset -e\n[ -f node_modules/.installed ] && { echo "dependencies present"; exit 0; }\ntar -xf "\${BENCH_DEPS_TAR:-${path.join(root, "deps.tar")}}"\ntouch node_modules/.installed\necho installed\n`,
    { mode: 0o755 },
  );
  sh(seed, "git", "init", "-q", "-b", "main");
  sh(seed, "git", "add", "-A");
  sh(seed, "git", "commit", "-q", "-m", "generated");
  const remote = path.join(root, "remote.git");
  sh(root, "git", "clone", "-q", "--bare", seed, remote);

  const deps = path.join(root, "deps");
  for (let i = 0; i < DEP_FILES; i++) {
    const dir = path.join(deps, "node_modules", `pkg${i % 200}`, "lib");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `f${i}.js`), `module.exports = ${i};\n`.repeat(20));
  }
  const depsTar = path.join(root, "deps.tar");
  sh(deps, "tar", "-cf", depsTar, "node_modules");
  return { remote, depsTar };
}
