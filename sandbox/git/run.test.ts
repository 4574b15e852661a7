import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedactor } from "../redact.js";
import { git, GitError, httpsOrigin, isTransientGitError } from "./run.js";

describe("git credentials", () => {
  const token = "ghs_testTokenValue1234567890";
  const seen: { url: string; auth: string | undefined }[] = [];
  let origin = "";
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", auth: req.headers.authorization });
    // Refuse, so git prints the URL in its error (which must come back redacted anyway).
    res.writeHead(403, { "content-type": "text/plain" });
    res.end("forbidden");
  });

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("sends the token as a Basic header scoped to the remote, and writes it nowhere", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "git-auth-"));
    execFileSync("git", ["init", "-q", dir]);
    const redact = createRedactor([token]);
    const error = await git(["ls-remote", `${origin}/acme/repo.git`], {
      cwd: dir,
      auth: { origin, token },
      redact,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(GitError);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0].auth).toBe(`Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`);
    expect(readFileSync(path.join(dir, ".git", "config"), "utf8")).not.toContain(token);
    expect(String(error.message)).not.toContain(token);
    expect(String(error.message)).not.toContain(Buffer.from(`x-access-token:${token}`).toString("base64"));
  });

  it("does not send the header to another origin", async () => {
    seen.length = 0;
    const dir = mkdtempSync(path.join(os.tmpdir(), "git-auth-"));
    await git(["ls-remote", `${origin}/acme/repo.git`], {
      cwd: dir,
      auth: { origin: "https://github.com", token },
    }).catch(() => undefined);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s.auth === undefined)).toBe(true);
  });

  it("scopes by origin only for http(s) remotes", () => {
    expect(httpsOrigin("https://github.com/acme/repo.git")).toBe("https://github.com");
    expect(httpsOrigin("/srv/git/repo.git")).toBeNull();
    expect(httpsOrigin("git@github.com:acme/repo.git")).toBeNull();
  });
});

describe("transient git errors", () => {
  it("retries network trouble", () => {
    expect(
      isTransientGitError("fatal: unable to access 'https://github.com/a/b.git/': Could not resolve host: github.com"),
    ).toBe(true);
    expect(isTransientGitError("error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502")).toBe(true);
    expect(isTransientGitError("fatal: the remote end hung up unexpectedly")).toBe(true);
  });

  it("does not retry rejections or auth failures", () => {
    expect(isTransientGitError(" ! [rejected]        HEAD -> main (non-fast-forward)")).toBe(false);
    expect(isTransientGitError(" ! [remote rejected] HEAD -> b (pre-receive hook declined)")).toBe(false);
    expect(isTransientGitError("fatal: unable to access 'https://x/': The requested URL returned error: 403")).toBe(
      false,
    );
    expect(isTransientGitError("fatal: Authentication failed for 'https://github.com/a/b.git/'")).toBe(false);
  });
});

describe("git timeouts", () => {
  it("ends a local git command that hangs, with a message that says so", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "git-hang-"));
    execFileSync("git", ["init", "-q", dir]);
    const started = Date.now();
    const error = await git(["-c", "alias.hang=!sleep 46", "hang"], { cwd: dir, timeoutMs: 500 }).catch((e) => e);
    expect(error).toBeInstanceOf(GitError);
    expect(error.message).toMatch(/timed out after 500 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
