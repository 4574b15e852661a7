/**
 * When no rule chooses the repository, the asker picks: an ephemeral message (only they see the
 * installed repositories' names) with one button per candidate, at most five, the classifier's
 * guess first. The request waits in slack_picks; the first click by the asker starts the session
 * on that repository and replaces the picker (through Slack's response_url).
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { App } from "@slack/bolt";
import { slackPicks } from "../db/schema.js";
import type { Guess } from "./classifier.js";
import type { SlackRequest } from "./request.js";
import { startSession, type StartSessionDeps } from "./start-session.js";
import type { BlockActionsPayload } from "./thread.js";
import { linkedViewer, slackCall } from "./unfurl.js";

export const PICK_ACTION = "pick_repository";
const MAX_BUTTONS = 5;

export interface PickerDeps extends StartSessionDeps {
  secret: string;
  /** SLACK_API_URL: a response_url must be on Slack's own domain. */
  apiUrl: string;
  client: StartSessionDeps["client"] & { chat: Pick<App["client"]["chat"], "postEphemeral"> };
}

export async function offerPicker(
  deps: PickerDeps,
  req: SlackRequest,
  task: string,
  candidates: string[],
  guess: Guess | null,
): Promise<void> {
  const first = guess && candidates.includes(guess.repository) ? [guess.repository] : [];
  const ordered = [...first, ...candidates.filter((c) => !first.includes(c))];
  const shown = ordered.slice(0, MAX_BUTTONS);
  const id = randomUUID();
  await deps.db.insert(slackPicks).values({
    id,
    teamId: req.teamId,
    channel: req.channel,
    threadTs: req.threadTs,
    messageTs: req.ts,
    slackUserId: req.user,
    text: task,
    candidates: shown,
  });
  const lines = [
    "Which repository should I work on?",
    first.length ? `The first is my best guess (${Math.round(guess!.confidence * 100)}% sure).` : "",
    ordered.length > shown.length
      ? `Showing ${shown.length} of ${ordered.length}: for another, ask again naming it (\`owner/repo <task>\`) or set this channel's default (\`use owner/repo here\`).`
      : "",
  ].filter(Boolean);
  const buttons = shown.map((repo, i) => ({
    type: "button" as const,
    text: { type: "plain_text" as const, text: repo.slice(0, 75) },
    action_id: `${PICK_ACTION}_${i}`,
    value: `${id} ${repo}`,
  }));
  await slackCall(deps.log, "chat.postEphemeral", () =>
    deps.client.chat.postEphemeral({
      channel: req.channel,
      user: req.user,
      thread_ts: req.threadTs,
      text: lines.join(" "),
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: lines.join("\n") } },
        { type: "actions", elements: buttons },
      ],
    }),
  );
}

/** A picker button: the asker's first click starts the session there and replaces the picker. */
export async function pickFromButton(deps: PickerDeps, payload: BlockActionsPayload): Promise<void> {
  const action = payload.actions.find((a) => a.action_id.startsWith(PICK_ACTION));
  const [id, repo] = (action?.value ?? "").split(" ");
  if (!id || !repo) return;
  const [pick] = await deps.db.select().from(slackPicks).where(eq(slackPicks.id, id));
  const teamId = payload.team?.id ?? payload.user.team_id ?? "";
  // Only the asker sees the picker: any other click is stale or forged.
  if (!pick || pick.teamId !== teamId || pick.slackUserId !== payload.user.id || !pick.candidates.includes(repo))
    return;
  if (payload.channel && payload.channel.id !== pick.channel) return;
  const viewer = await linkedViewer(deps, teamId, pick.slackUserId);
  if (!viewer) return;
  const [taken] = await deps.db
    .update(slackPicks)
    .set({ takenAt: new Date() })
    .where(and(eq(slackPicks.id, id), isNull(slackPicks.takenAt)))
    .returning({ id: slackPicks.id });
  if (!taken) return; // a second click
  const req: SlackRequest = {
    teamId,
    user: pick.slackUserId,
    text: pick.text,
    ts: pick.messageTs,
    channel: pick.channel,
    threadTs: pick.threadTs,
    direct: false,
  };
  if (!(await startSession(deps, req, viewer, pick.text, repo, "picked from the list"))) {
    // Refused (the thread was told why): another button may still be pressed.
    await deps.db.update(slackPicks).set({ takenAt: null }).where(eq(slackPicks.id, id));
    return;
  }
  await replacePicker(deps, payload.response_url, `Picked ${repo}.`);
}

async function replacePicker(deps: PickerDeps, responseUrl: string | undefined, text: string): Promise<void> {
  if (!responseUrl || !onSlack(deps.apiUrl, responseUrl)) return;
  try {
    const res = await fetch(responseUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ replace_original: true, text }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) deps.log.warn({ status: res.status }, "Slack response_url refused replacing the picker");
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, "Slack response_url failed: the picker stays");
  }
}

/** hooks.slack.com for https://slack.com/api/ (and the same host, for a local stand-in). */
function onSlack(apiUrl: string, url: string): boolean {
  const api = new URL(apiUrl);
  const target = new URL(url);
  const domain = api.hostname.replace(/^(api|www)\./, "");
  return (
    target.protocol === api.protocol && (target.hostname === api.hostname || target.hostname.endsWith(`.${domain}`))
  );
}
