/** "Only writers can ask": said once per person per thread, on any replica, however often they ask. */
import { and, eq } from "drizzle-orm";
import type { Db } from "./client.js";
import { githubRefusals as r } from "./schema.js";

export interface RefusalKey {
  repositoryGithubId: number;
  threadNumber: number;
  login: string;
}

/** True the first time: the caller replies. */
export async function claimRefusal(db: Db, key: RefusalKey): Promise<boolean> {
  const rows = await db
    .insert(r)
    .values({ ...key, login: key.login.toLowerCase() })
    .onConflictDoNothing()
    .returning({ login: r.login });
  return rows.length === 1;
}

/** The reply could not be posted: the next request may try again. */
export async function releaseRefusal(db: Db, key: RefusalKey): Promise<void> {
  await db
    .delete(r)
    .where(
      and(
        eq(r.repositoryGithubId, key.repositoryGithubId),
        eq(r.threadNumber, key.threadNumber),
        eq(r.login, key.login.toLowerCase()),
      ),
    );
}
