/**
 * GitHub failing the status comment's edits (5xx, 429 with Retry-After) while a session moves
 * on: the comment still ends up saying how the session ended, and nothing else is held up.
 * GitHub is replaced at the HTTP boundary; this test acts as the runner through the runner API.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../db/client.js";
import { listSessions } from "../db/sessions.js";
import type { Inspect } from "../server.js";
import type { FakeGitHub } from "../../test/support/fake-github.js";
import { useGitHubStack } from "../../test/support/github-stack.js";
import { deliver } from "../../test/support/inspect.js";
import { issueComment } from "../../test/support/payloads.js";

const stack = useGitHubStack({ permissions: { alice: "write" } });
const runner = stack.runner;
let database: Database;
let inspect: Inspect;
let gh: FakeGitHub;
beforeEach(async () => {
  ({ database, gh } = stack);
  inspect = await stack.restart({ reporterRetryMs: 50 });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await inspect.tasks.drain();
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("GitHub failing the status comment", () => {
  it.each([
    ["502s", () => [502, { message: "Bad Gateway" }] as [number, unknown]],
    ["429s", () => [429, { message: "secondary rate limit" }] as [number, unknown]],
  ])("keeps the comment current through %s: its last edit says how the session ended", async (_name, failure) => {
    await deliver(inspect, "issue_comment", issueComment("@inspect fix the crash", { issue: 77, login: "alice" }));
    await inspect.tasks.drain();
    const session = (await listSessions(database.db)).find((s) => s.threadNumber === 77)!;
    const { sessionToken } = await runner.claim(session.id);
    const prompt = await runner.take(session.id, sessionToken);

    // From now on GitHub fails every edit of the comment, the last ones included.
    let failing = true;
    gh.on("PATCH", /\/issues\/comments\/\d+$/, (_m, body) =>
      failing ? failure() : [200, { id: 1, body: body?.body }],
    );
    await runner.done(session.id, sessionToken, prompt.id, { status: "done", commits: [] });
    await runner.exit(session.id, sessionToken, "idle");
    await inspect.tasks.drain();
    const failed = gh.find("PATCH", /\/issues\/comments\/\d+$/).length;
    expect(failed).toBeGreaterThan(0);
    // GitHub recovers; no event is coming any more, yet the comment is brought up to date.
    failing = false;
    await until(() => gh.find("PATCH", /\/issues\/comments\/\d+$/).length > failed);
    expect(gh.find("PATCH", /\/issues\/comments\/\d+$/).at(-1)!.body.body).toMatch(/completed|done|finished/i);
  });
});
