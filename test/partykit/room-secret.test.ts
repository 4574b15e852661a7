/**
 * The room secret stays off every command line: the real `partykit dev` (and the
 * workerd and esbuild it starts) is walked in /proc, and no process on the machine
 * has the secret in its argv. The room still gets it (a token signed with it is
 * accepted, one signed with another secret refused), from an owner-only file in an
 * owner-only folder that is gone once the server stops.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRoomDevServer, type RoomDevServer } from "../../app/rooms/dev-server.js";
import { signViewerToken } from "../../protocol/viewer-token.js";
import { freePort } from "../support/ports.js";
import { RoomClient } from "../support/room-client.js";

const SECRET = `argv-room-secret-${process.pid}-${Date.now()}-0123456789`;
let server: RoomDevServer | undefined;

beforeAll(async () => {
  server = await startRoomDevServer({ port: await freePort(), secret: SECRET, persistDir: false });
});
afterAll(async () => {
  await server?.stop();
});

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
}

/** Every process we may read: pid, parent, argv (NUL-separated in /proc/<pid>/cmdline). */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean);
      // stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.push({ pid: Number(name), ppid, argv });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function descendants(all: Proc[], root: number): Proc[] {
  const found = all.filter((p) => p.pid === root);
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i]!.pid));
  return found;
}

describe("the room secret under partykit dev", () => {
  it("is in no process's command line: partykit, workerd, esbuild, or anything else", () => {
    const all = processes();
    const tree = descendants(all, server!.pid);
    // The walk saw the server's tree, workerd included, so "not found" means something.
    expect(tree.map((p) => p.argv.join(" ")).some((cmd) => /workerd/.test(cmd))).toBe(true);
    expect(tree.length).toBeGreaterThanOrEqual(2);
    const leaks = all.filter(
      (p) => p.argv.join("\0").includes(SECRET) || p.argv.join("\0").includes(SECRET.slice(0, 24)),
    );
    expect(leaks.map((p) => `${p.pid}: ${p.argv.join(" ")}`)).toEqual([]);
    expect(tree.flatMap((p) => p.argv).some((a) => /INSPECT_ROOM_SECRET/.test(a))).toBe(false);
  });

  it("reaches the room: a token signed with it is accepted, one signed with another secret refused", async () => {
    const good = (await signViewerToken(SECRET, { login: "ann", sessionId: "argv" })).token;
    const viewer = await RoomClient.connect(server!.url, "argv", { token: good, since: 0 });
    await viewer.until(() => viewer.backlogDone());
    await viewer.close();
    const forged = (await signViewerToken("another-secret-0123456789abcdef", { login: "ann", sessionId: "argv" }))
      .token;
    await expect(RoomClient.connect(server!.url, "argv", { token: forged })).rejects.toMatchObject({ status: 401 });
  });

  it("is kept in an owner-only file in an owner-only folder, removed when the server stops", async () => {
    const dir = readlinkSync(`/proc/${server!.pid}/cwd`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // Files only: `repo` is the symlink to the repository that partykit's entry point goes through.
    const files = readdirSync(dir).filter((f) => lstatSync(path.join(dir, f)).isFile());
    expect(files.sort()).toEqual([".env", ".env.local", "partykit.json"]);
    expect(files.filter((f) => readFileSync(path.join(dir, f), "utf8").includes(SECRET))).toEqual(["partykit.json"]);
    for (const f of files) expect(statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
    // The .env files partykit looks for are there (empty), so it reads none further up.
    expect(readFileSync(path.join(dir, ".env"), "utf8")).toBe("");
    expect(readFileSync(path.join(dir, ".env.local"), "utf8")).toBe("");
    await server!.stop();
    server = undefined;
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(fileURLToPath(new URL("../../partykit.json", import.meta.url)))).toBe(true); // the symlink went, not what it points to
  });
});
