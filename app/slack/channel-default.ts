/**
 * A channel's default repository: `@inspect use owner/repo here` sets it (per workspace and
 * channel), for a linked Slack user whose GitHub account can write to that repository — the same
 * check as starting a session there. Later requests in the channel that name no repository use it.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { upsertUser } from "../db/accounts.js";
import { repositories, slackChannelDefaults } from "../db/schema.js";

const USE = /^use\s+([\w.-]+\/[\w.-]+)\s+(?:here|in this channel)[.!]?$/i;

/** `use owner/repo here` → owner/repo; anything else → null. */
export function parseUseCommand(plain: string): string | null {
  return USE.exec(plain.trim())?.[1] ?? null;
}

export async function channelDefault(db: Db, teamId: string, channel: string): Promise<string | null> {
  const [row] = await db
    .select({ fullName: repositories.fullName })
    .from(slackChannelDefaults)
    .innerJoin(repositories, eq(repositories.id, slackChannelDefaults.repositoryId))
    .where(and(eq(slackChannelDefaults.teamId, teamId), eq(slackChannelDefaults.channel, channel)));
  return row?.fullName ?? null;
}

export async function setChannelDefault(
  db: Db,
  place: { teamId: string; channel: string },
  repositoryId: number,
  by: { login: string; id: number | null; avatarUrl: string | null },
): Promise<void> {
  const user = await upsertUser(db, { login: by.login, githubId: by.id, avatarUrl: by.avatarUrl });
  const values = { ...place, repositoryId, setByUserId: user.id, updatedAt: new Date() };
  await db
    .insert(slackChannelDefaults)
    .values(values)
    .onConflictDoUpdate({ target: [slackChannelDefaults.teamId, slackChannelDefaults.channel], set: values });
}
