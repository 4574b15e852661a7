/**
 * Storing a screenshot over the runner API (GitHub faked at the HTTP boundary, this test as the
 * runner): only with the session's own token and a small image; stored, announced in the session's
 * log, and linked from its pull request's body.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../db/client.js";
import { listSessions } from "../db/sessions.js";
import type { Inspect } from "../server.js";
import type { FakeGitHub } from "../../test/support/fake-github.js";
import { useGitHubStack } from "../../test/support/github-stack.js";
import { deliver } from "../../test/support/inspect.js";
import { issueComment } from "../../test/support/payloads.js";
import { until } from "../../test/support/wait.js";
import { ARTIFACT_MAX_BYTES } from "../../protocol/artifacts.js";

const stack = useGitHubStack({ env: { INSPECT_HEARTBEAT_TIMEOUT: "30" }, permissions: { alice: "write" } });
let database: Database;
let inspect: Inspect;
let gh: FakeGitHub;
beforeEach(() => {
  ({ database, inspect, gh } = stack);
});
const { call, claim } = stack.runner;
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex").toString("base64");

let issueNo = 800;
async function session(): Promise<{ id: string; token: string; branch: string }> {
  const n = ++issueNo;
  await deliver(inspect, "issue_comment", issueComment("@inspect check the page", { issue: n }));
  await inspect.tasks.drain();
  const id = (await listSessions(database.db)).find((s) => s.threadNumber === n)!.id;
  const claimed = await claim(id);
  return { id, token: claimed.sessionToken, branch: claimed.session.headBranch };
}
const upload = (s: { id: string; token: string }, body: Record<string, unknown>) =>
  call(`/sessions/${s.id}/artifacts`, s.token, { body });

describe("storing screenshots", () => {
  it("stores one, says so in the log, and links it from the pull request's body", async () => {
    const s = await session();
    await stack.runner.push(s.id, s.token, "abc1234", s.branch);
    const res = await upload(s, { name: "page-1.png", contentType: "image/png", data: PNG });
    expect(res.status).toBe(200);
    const log = await inspect.sessions.deps.events.list(s.id);
    expect(log.find((e) => e.type === "artifact.added")?.data).toEqual({
      artifactId: res.json.id,
      name: "page-1.png",
      contentType: "image/png",
      size: 16,
    });
    const link = `https://inspect.test/api/sessions/${s.id}/artifacts/${res.json.id}`;
    await until("the PR body linking the screenshot", async () => {
      await inspect.tasks.drain();
      return gh
        .find("PATCH", /\/pulls\/\d+$/)
        .some((c) => String(c.body?.body ?? "").includes(`### Screenshots\n- [page-1.png](${link})`));
    });
  });

  it("refuses another session's token, other file types, bad names and files over the cap", async () => {
    const a = await session();
    const b = await session();
    expect(
      (await upload({ id: a.id, token: b.token }, { name: "x.png", contentType: "image/png", data: PNG })).status,
    ).toBe(401);
    expect((await upload(a, { name: "x.svg", contentType: "image/svg+xml", data: PNG })).status).toBe(400);
    expect((await upload(a, { name: "../x.png", contentType: "image/png", data: PNG })).status).toBe(400);
    const big = Buffer.alloc(ARTIFACT_MAX_BYTES + 1).toString("base64");
    expect((await upload(a, { name: "big.png", contentType: "image/png", data: big })).status).toBe(413);
    const log = await inspect.sessions.deps.events.list(a.id);
    expect(log.some((e) => e.type === "artifact.added")).toBe(false);
  });
});
