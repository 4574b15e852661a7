/**
 * A small history for the stats page and API tests on a web stack: acme/widgets (alice can
 * read it) with a merged PR, a closed one and an open one, priced and unpriced prompts by
 * alice and bob; acme/secret (alice cannot read it) with a costly merged PR of erin's.
 * Dated relative to now, all on today's or yesterday's UTC date.
 */
import { upsertRepository } from "../../app/db/accounts.js";
import { insertPrompt } from "../../app/db/prompts.js";
import type { WebStack } from "./web-stack.js";

const MIN = 60_000;
const HOUR = 60 * MIN;

export async function seedStatsHistory(stack: WebStack, now = Date.now()): Promise<void> {
  const db = stack.inspect.database.db;
  const at = (msAgo: number) => new Date(now - msAgo);
  const secret = await upsertRepository(db, { owner: "acme", name: "secret", githubId: 43 });
  const prompt = (sessionId: string, author: string, createdAt: Date, usage: object) =>
    insertPrompt(db, { sessionId, authorLogin: author, source: "web", text: "go", createdAt, usage, status: "done" });
  const pr = (sessionId: string, number: number, opened: Date, decided?: { at: Date; merged: boolean }) =>
    stack.append(sessionId, [
      {
        type: "pr.opened",
        data: { number, url: `https://gh.example/pull/${number}`, draft: false },
        ts: opened.toISOString(),
      },
      ...(decided
        ? [
            {
              type: "session.status",
              data: { status: "archived", reason: decided.merged ? "pull request merged" : "pull request closed" },
              ts: decided.at.toISOString(),
            },
          ]
        : []),
    ] as never);

  await stack.createSession("statMerged", "Merged one", "alice", {
    createdAt: at(6 * HOUR),
    prNumber: 1,
    status: "archived",
  });
  await prompt("statMerged", "alice", at(6 * HOUR), { inputTokens: 1000, outputTokens: 200, cost: 0.5 });
  await prompt("statMerged", "bob", at(5 * HOUR), { inputTokens: 2000, outputTokens: 300, cost: 1 });
  await pr("statMerged", 1, at(6 * HOUR - 10 * MIN), { at: at(3 * HOUR), merged: true });
  await stack.createSession("statClosed", "Closed one", "bob", {
    createdAt: at(4 * HOUR),
    prNumber: 2,
    status: "archived",
  });
  await prompt("statClosed", "bob", at(4 * HOUR), { inputTokens: 500, outputTokens: 50 }); // an unpriced model
  await pr("statClosed", 2, at(4 * HOUR - 30 * MIN), { at: at(2 * HOUR), merged: false });
  await stack.createSession("statOpen01", "Open one", "alice", { createdAt: at(2 * HOUR), prNumber: 3 });
  await prompt("statOpen01", "alice", at(2 * HOUR), { inputTokens: 100, outputTokens: 10, cost: 0.25 });
  await pr("statOpen01", 3, at(2 * HOUR - 20 * MIN));
  await stack.createSession("statSecret", "Hidden", "erin", {
    createdAt: at(HOUR),
    repositoryId: secret.id,
    prNumber: 9,
    status: "archived",
  });
  await prompt("statSecret", "erin", at(HOUR), { inputTokens: 9, outputTokens: 9, cost: 100 });
  await pr("statSecret", 9, at(HOUR - MIN), { at: at(HOUR / 2), merged: true });
}
