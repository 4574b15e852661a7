import { eq } from "drizzle-orm";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { listPrompts } from "../db/prompts.js";
import { slackThreads } from "../db/schema.js";
import type { SessionRow } from "../db/sessions.js";
import { listArtifacts } from "../artifacts/store.js";
import { artifactUrl, sessionUrl } from "../sessions/url.js";
import { storedUsage } from "../usage/session-usage.js";
import type { SummaryInput } from "./summary.js";

/** Gather what the summary functions need for one session. */
export async function summaryInput(db: Db, config: Config, session: SessionRow): Promise<SummaryInput> {
  const prompts = await listPrompts(db, session.id);
  const [slack] = await db
    .select({ permalink: slackThreads.permalink })
    .from(slackThreads)
    .where(eq(slackThreads.sessionId, session.id));
  return {
    sessionUrl: sessionUrl(config.publicUrl, session.id),
    closes: session.threadKind === "issue" ? session.threadNumber : null,
    requestedBy: prompts[0]?.authorLogin ?? "someone",
    handle: config.botHandle,
    slack: slack ?? null,
    screenshots: (await listArtifacts(db, session.id)).map((a) => ({
      name: a.name,
      url: artifactUrl(config.publicUrl, session.id, a.id),
    })),
    prompts: prompts.map((p) => ({
      author: p.authorLogin,
      text: p.text,
      status: p.status,
      commits: p.commits ?? [],
      summary: p.summary,
      error: p.error,
      changedFiles: p.changedFiles,
      usage: storedUsage(p.usage),
    })),
  };
}
