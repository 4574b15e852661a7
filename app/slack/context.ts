/**
 * What the classifier is told besides the request itself: the channel's name and the thread's
 * earlier messages (Slack's conversations.info / conversations.replies), read as untrusted,
 * size-limited data. Slack failing to answer leaves them empty: the picker is the fallback.
 */
import type { App } from "@slack/bolt";
import { z } from "zod";
import type { Logger } from "../util/tasks.js";
import { plainText } from "./thread.js";
import { slackCall } from "./unfurl.js";

export interface ContextClient {
  conversations: Pick<App["client"]["conversations"], "info" | "replies">;
}

const Info = z.object({
  channel: z
    .object({ name: z.string().max(200).optional() })
    .passthrough()
    .optional(),
});
const Replies = z.object({
  messages: z
    .array(z.object({ ts: z.string().max(64), user: z.string().max(64).optional(), text: z.string().max(40_000) }))
    .max(100)
    .optional(),
});

const THREAD_MESSAGES = 20;

export async function channelName(client: ContextClient, log: Logger, channel: string, direct: boolean) {
  if (direct) return "a direct message to Inspect";
  const info = Info.safeParse(await slackCall(log, "conversations.info", () => client.conversations.info({ channel })));
  const name = info.success ? info.data.channel?.name : undefined;
  return name ? `#${name}` : "(unknown)";
}

/** The thread's messages before `ts`, one `<user>: text` line each (oldest first). */
export async function threadText(
  client: ContextClient,
  log: Logger,
  where: { channel: string; threadTs: string; ts: string },
): Promise<string> {
  if (where.threadTs === where.ts) return "";
  const answer = await slackCall(log, "conversations.replies", () =>
    client.conversations.replies({ channel: where.channel, ts: where.threadTs, limit: THREAD_MESSAGES }),
  );
  const parsed = Replies.safeParse(answer);
  if (!parsed.success) return "";
  return (parsed.data.messages ?? [])
    .filter((m) => m.ts !== where.ts)
    .map((m) => `${m.user ?? "someone"}: ${plainText(m.text).slice(0, 1_000)}`)
    .join("\n");
}
