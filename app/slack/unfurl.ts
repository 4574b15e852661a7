/**
 * link_shared → chat.unfurl. A session link unfurls into its card when the sharer may see it:
 * public repositories for anyone; otherwise only for a Slack user whose linked GitHub account
 * can read the repository (GitHub asked with that account's token). Anyone else gets Slack's
 * "connect your account" invitation and nothing of the session; unknown sessions get nothing.
 */
import type { App } from "@slack/bolt";
import { z } from "zod";
import type { RepositoryRef, Viewer } from "../api/access.js";
import { openToken } from "../auth/crypto.js";
import { getRepository, type RepositoryRow } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { listPrompts } from "../db/prompts.js";
import { getSession, type SessionRow } from "../db/sessions.js";
import { users } from "../db/schema.js";
import { eq } from "drizzle-orm";
import type { Logger } from "../util/tasks.js";
import { sessionIdFromUrl } from "../sessions/url.js";
import { sessionCard } from "./card.js";
import { linkUrl } from "./link.js";
import { linkedUser } from "./store.js";

export const LinkShared = z.object({
  type: z.literal("link_shared"),
  channel: z.string().max(64).optional(),
  user: z.string().max(64),
  message_ts: z.string().max(64).optional(),
  unfurl_id: z.string().max(256).optional(),
  source: z.enum(["composer", "conversations_history"]).optional(),
  links: z.array(z.object({ url: z.string().max(2_000), domain: z.string().max(255).optional() })).max(20),
});
type LinkSharedEvent = z.infer<typeof LinkShared>;

/** The slice of Slack's Web API unfurling uses (Bolt's WebClient). */
interface UnfurlClient {
  chat: Pick<App["client"]["chat"], "unfurl">;
}
type UnfurlArguments = Parameters<App["client"]["chat"]["unfurl"]>[0];

export interface UnfurlDeps {
  db: Db;
  secret: string;
  publicUrl: string;
  githubWebUrl: string;
  client: UnfurlClient;
  /** GitHub says this viewer may read the repository (app/auth's access policy). */
  canRead(viewer: Viewer, repo: RepositoryRef): Promise<boolean>;
  log: Logger;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The session id in a link to this install's session page, or null. */
function sessionIdFromLink(publicUrl: string, link: string): string | null {
  const id = sessionIdFromUrl(publicUrl, link)
    ?.replace(/[?#].*$/, "")
    .replace(/\/$/, "");
  return id && SESSION_ID.test(id) ? id : null;
}

export async function unfurlLinks(deps: UnfurlDeps, teamId: string, event: LinkSharedEvent): Promise<void> {
  const unfurls: Record<string, { blocks: unknown[] }> = {};
  let authNeeded = false;
  for (const { url } of event.links) {
    const id = sessionIdFromLink(deps.publicUrl, url);
    if (!id) continue;
    const session = await getSession(deps.db, id);
    const repo = session && (await getRepository(deps.db, session.repositoryId));
    if (!session || !repo) continue;
    if (!(await mayUnfurl(deps, teamId, event.user, repo))) {
      authNeeded = true;
      continue;
    }
    unfurls[url] = { blocks: await cardBlocks(deps, session, repo, url) };
  }
  const target =
    event.unfurl_id && event.source
      ? { unfurl_id: event.unfurl_id, source: event.source }
      : event.channel && event.message_ts
        ? { channel: event.channel, ts: event.message_ts }
        : null;
  if (!target) {
    deps.log.warn({ event: event.type }, "Slack link_shared without unfurl_id/source or channel/ts: cannot unfurl");
    return;
  }
  if (Object.keys(unfurls).length > 0) await call(deps, "chat.unfurl", { ...target, unfurls });
  if (authNeeded) {
    await call(deps, "chat.unfurl (sign-in invitation)", {
      ...target,
      unfurls: {},
      user_auth_required: true,
      user_auth_url: await linkUrl(deps.publicUrl, deps.secret, teamId, event.user),
      user_auth_message: "This Inspect session is in a private repository. Link your GitHub account to preview it.",
    });
  }
}

/** The card for a stored session (its first prompt and who asked are looked up). */
export async function cardBlocks(
  deps: Pick<UnfurlDeps, "db" | "githubWebUrl">,
  session: SessionRow,
  repo: RepositoryRow,
  url: string,
) {
  const [prompt] = await listPrompts(deps.db, session.id);
  const [creator] =
    session.createdByUserId !== null
      ? await deps.db.select({ login: users.login }).from(users).where(eq(users.id, session.createdByUserId))
      : [];
  return sessionCard({
    session,
    repo,
    prompt: prompt?.text ?? null,
    askedBy: prompt?.authorLogin ?? creator?.login ?? null,
    url,
    githubWebUrl: deps.githubWebUrl,
  });
}

async function mayUnfurl(deps: UnfurlDeps, teamId: string, slackUserId: string, repo: RepositoryRow): Promise<boolean> {
  if (!repo.private && repo.localPath === null) return true;
  const viewer = await linkedViewer(deps, teamId, slackUserId);
  return viewer ? deps.canRead(viewer, repo) : false;
}

/** The GitHub account a Slack user linked, as a viewer acting with its own token; null when not linked. */
export async function linkedViewer(
  deps: Pick<UnfurlDeps, "db" | "secret">,
  teamId: string,
  slackUserId: string,
): Promise<Viewer | null> {
  const user = await linkedUser(deps.db, teamId, slackUserId);
  const token = user?.oauthToken ? openToken(deps.secret, user.oauthToken) : null;
  if (!user || !token) return null;
  return { login: user.login, id: user.githubId ?? null, avatarUrl: user.avatarUrl ?? null, token, local: false };
}

async function call(deps: UnfurlDeps, what: string, args: Record<string, unknown>): Promise<void> {
  // Built above: target + unfurls (+ the sign-in invitation).
  await slackCall(deps.log, what, () => deps.client.chat.unfurl(args as unknown as UnfurlArguments));
}

/** A Slack API failure is logged, never thrown: Slack is a place we report to, best effort. */
export async function slackCall<T>(log: Logger, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const e = err as { code?: string; data?: { error?: string }; message?: string };
    log.warn(
      { slackError: e.data?.error ?? e.code ?? e.message },
      `Slack ${what} failed: ${e.data?.error ?? e.message}`,
    );
    return undefined;
  }
}
