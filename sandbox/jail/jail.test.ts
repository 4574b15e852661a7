import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectBoundary } from "./boundary.js";
import { execLine } from "./exec.js";
import { git, GitError } from "../git/run.js";
import { userJail, type Jail } from "./jail.js";

const boundary = detectBoundary(process.env.INSPECT_SANDBOX_USER || "inspect-sandbox");

describe("detectBoundary", () => {
  it("names a missing user as the reason", () => {
    const answer = detectBoundary("no-such-user-here");
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.reason).toMatch(process.getuid?.() === 0 ? /does not exist|not found/ : /not root/);
  });

  it("refuses a user name that is not one", () => {
    const answer = detectBoundary("Bad Name;rm");
    expect(answer.ok).toBe(false);
  });
});

// Needs root, bubblewrap and the sandbox user (CI creates them; see README → Security).
describe.skipIf(!boundary.ok)("the session jail", () => {
  let root: string;
  let jail: Jail;
  const secretDir = () => path.join(root, "app-data");

  beforeAll(async () => {
    // Outside /tmp: the jail has a private /tmp of its own.
    mkdirSync("/var/tmp", { recursive: true });
    root = mkdtempSync("/var/tmp/inspect-jail-");
    chmodSync(root, 0o755);
    mkdirSync(secretDir(), { mode: 0o755 });
    writeFileSync(path.join(secretDir(), "secret"), "hidden-by-mount\n", { mode: 0o644 });
    writeFileSync(path.join(root, "key.pem"), "-----BEGIN PRIVATE KEY-----\n", { mode: 0o600 });
    const sessionDir = path.join(root, "work", "sessions", "s1");
    jail = userJail((boundary as { ok: true; user: never }).user, {
      sessionDir,
      hide: [secretDir(), path.join(root, "work")],
      reveal: [],
    });
    await jail.start();
  });

  afterAll(async () => {
    await jail?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const sh = (script: string) => execLine(jail.session("sh", ["-c", script], jail.box), jail.env());

  it("runs as the sandbox user, in its box", async () => {
    const { code, output } = await sh(
      'id -u; pwd; echo ok > "$HOME/written"; cat "$HOME/written"; echo tmp > /tmp/t; cat /tmp/t',
    );
    expect(code).toBe(0);
    expect(output.trim().split("\n")).toEqual([String(jail.user!.uid), jail.box, "ok", "tmp"]);
  });

  it("sees none of our processes and cannot read our environment", async () => {
    const { output } = await sh(
      `ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/${process.pid}/environ 2>&1 | head -c 200 | tr -d '\\0\\n'; echo; cat /proc/1/environ >/dev/null 2>&1 && echo READ || echo DENIED`,
    );
    const [count, ours, first] = output.trim().split("\n");
    expect(Number(count)).toBeLessThan(20);
    expect(ours).toMatch(/No such file|Permission denied/);
    expect(first).toBe("DENIED");
  });

  it("cannot see hidden folders, read our 0600 files or write outside its box", async () => {
    const { output } = await sh(
      [
        `cat ${path.join(secretDir(), "secret")} 2>/dev/null || echo NO-SECRET`,
        `cat ${path.join(root, "key.pem")} 2>/dev/null || echo NO-KEY`,
        `ls ${path.join(root, "work", "sessions")}`,
        `touch ${path.join(root, "planted")} 2>/dev/null && echo PLANTED || echo READ-ONLY`,
        `touch /etc/planted 2>/dev/null && echo PLANTED || echo READ-ONLY`,
      ].join("; "),
    );
    expect(output.trim().split("\n")).toEqual(["NO-SECRET", "NO-KEY", "s1", "READ-ONLY", "READ-ONLY"]);
  });

  it("ends a git command that hangs inside the jail at its timeout, and the process with it", async () => {
    await sh("git init -q repo");
    const started = Date.now();
    const error = await git(["-c", "alias.hang=!sleep 47", "hang"], {
      cwd: path.join(jail.box, "repo"),
      jail,
      timeoutMs: 1_000,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(GitError);
    expect(error.message).toMatch(/timed out after 1000 ms/);
    expect(Date.now() - started).toBeLessThan(9_000);
    const { output } = await sh("ps -eo args | grep -c '[s]leep 47' || true");
    expect(output.trim()).toBe("0");
  });

  it("ends everything it started when it closes, daemons that setsid away included", async () => {
    const marker = `sleep ${1000 + (process.pid % 1000)}.25`;
    const started = await sh(`(setsid ${marker} </dev/null >/dev/null 2>&1 &); echo started`);
    expect(started.output.trim()).toBe("started");
    const running = () => {
      try {
        return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim();
      } catch {
        return "";
      }
    };
    await expect.poll(running, { timeout: 10_000 }).not.toBe("");
    await jail.close();
    await expect.poll(running, { timeout: 10_000 }).toBe("");
  });
});
