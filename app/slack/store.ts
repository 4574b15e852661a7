/** What Slack needs kept: event ids already taken, and Slack users linked to GitHub accounts. */
import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { slackEvents, slackLinks, slackPicks, users } from "../db/schema.js";

/** True the first time an event id is seen; false for Slack's retry of it. */
export async function claimSlackEvent(db: Db, id: string): Promise<boolean> {
  const rows = await db.insert(slackEvents).values({ id }).onConflictDoNothing().returning({ id: slackEvents.id });
  return rows.length === 1;
}

/** Slack retries for minutes, not days: older ids can go; so can requests nobody picked a repository for in that time. */
export async function pruneSlackEvents(db: Db, olderThan: Date): Promise<void> {
  await db.delete(slackEvents).where(lt(slackEvents.receivedAt, olderThan));
  await db.delete(slackPicks).where(lt(slackPicks.createdAt, olderThan));
}

/** Link (or re-link) a Slack user to an Inspect user (a GitHub account that signed in). */
export async function linkSlackUser(db: Db, teamId: string, slackUserId: string, userId: number): Promise<void> {
  await db
    .insert(slackLinks)
    .values({ teamId, slackUserId, userId })
    .onConflictDoUpdate({
      target: [slackLinks.teamId, slackLinks.slackUserId],
      set: { userId, createdAt: new Date() },
    });
}

/** The GitHub account a Slack user linked, with its sealed OAuth token. */
export async function linkedUser(db: Db, teamId: string, slackUserId: string) {
  const [row] = await db
    .select({
      id: users.id,
      login: users.login,
      githubId: users.githubId,
      avatarUrl: users.avatarUrl,
      oauthToken: users.oauthToken,
    })
    .from(slackLinks)
    .innerJoin(users, eq(users.id, slackLinks.userId))
    .where(and(eq(slackLinks.teamId, teamId), eq(slackLinks.slackUserId, slackUserId)));
  return row;
}
