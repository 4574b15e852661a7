/**
 * A request to start a session from Slack, whichever way it came: `@inspect …` in a channel
 * (app_mention) or a direct message to the app (message.im, no mention needed). Bots (Inspect
 * included), edits, joins and other message subtypes are no requests.
 */
import { z } from "zod";
import { plainText, type ThreadMessageEvent } from "./thread.js";

export const AppMention = z.object({
  type: z.literal("app_mention"),
  user: z.string().max(64),
  text: z.string().max(40_000),
  ts: z.string().max(64),
  channel: z.string().max(64),
  thread_ts: z.string().max(64).optional(),
});
type AppMentionEvent = z.infer<typeof AppMention>;

export interface SlackRequest {
  teamId: string;
  user: string;
  /** Slack's text, mentions removed and &amp; &lt; &gt; undone. */
  text: string;
  ts: string;
  channel: string;
  /** The thread Inspect answers in: the message's own thread, or a new one under it. */
  threadTs: string;
  direct: boolean;
}

export function fromMention(teamId: string, e: AppMentionEvent): SlackRequest {
  const where = { ts: e.ts, channel: e.channel, threadTs: e.thread_ts ?? e.ts };
  return { teamId, user: e.user, text: plainText(e.text), ...where, direct: false };
}

/** A person's direct message to the app; null for anything else. */
export function fromDirectMessage(teamId: string, e: ThreadMessageEvent): SlackRequest | null {
  if (e.channel_type !== "im" || e.subtype || e.bot_id || !e.user) return null;
  const where = { ts: e.ts, channel: e.channel, threadTs: e.thread_ts ?? e.ts };
  return { teamId, user: e.user, text: plainText(e.text ?? ""), ...where, direct: true };
}

/** A leading `owner/repo` names the repository; the rest is the task. */
export function parseRequest(text: string): { named: string | null; task: string } {
  const m = /^([\w.-]+\/[\w.-]+)(?:\s+([\s\S]*))?$/.exec(text);
  return m ? { named: m[1]!, task: (m[2] ?? "").trim() } : { named: null, task: text.trim() };
}
