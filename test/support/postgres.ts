/**
 * A real PostgreSQL server for tests: INSPECT_TEST_DATABASE_URL when given,
 * else a throwaway cluster started from Debian's postgresql package on
 * 127.0.0.1 (run as the postgres user when we are root, as initdb requires).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

/** Debian and Ubuntu install each major version under /usr/lib/postgresql/<major>/bin: newest first. */
function versionDirs(): string[] {
  try {
    return readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

function findBin(name: string): string | null {
  for (const dir of ["/usr/local/bin", ...versionDirs(), "/usr/bin"]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export interface TestPostgres {
  url: string;
  stop(): void;
  /** Take the server down (connections cut) and bring it back after `ms` (fault injection); null for an external server. */
  outage: ((ms: number) => Promise<void>) | null;
}

export async function startPostgres(): Promise<TestPostgres | null> {
  if (process.env.INSPECT_TEST_DATABASE_URL)
    return { url: process.env.INSPECT_TEST_DATABASE_URL, stop() {}, outage: null };
  const initdb = findBin("initdb");
  const pgCtl = findBin("pg_ctl");
  if (!initdb || !pgCtl) return null;
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "inspect-pg-"));
  chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  const port = await freePort();
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
    const r = spawnSync(full[0] as string, full[1] as string[], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  run(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const start = () =>
    run(pgCtl, [
      "-D",
      data,
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-l",
      path.join(dir, "log"),
      "-w",
      "start",
    ]);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async outage(ms: number) {
      run(pgCtl, ["-D", data, "-m", "fast", "-w", "stop"]);
      await new Promise((r) => setTimeout(r, ms));
      start();
    },
    stop() {
      try {
        const args = ["-D", data, "-m", "immediate", "-w", "stop"];
        if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", pgCtl, ...args], { stdio: "ignore" });
        else execFileSync(pgCtl, args, { stdio: "ignore" });
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
