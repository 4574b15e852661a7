/**
 * A request from Slack (a mention in a channel, or a direct message): `use owner/repo here` sets
 * the channel's default repository; anything else is a task. Only a linked Slack user gets
 * anywhere (an unlinked one is privately invited to link); the repository is chosen by the rules
 * in choose.ts, or picked by the asker (picker.ts).
 */
import { StartError } from "../sessions/starter.js";
import { setChannelDefault, parseUseCommand } from "./channel-default.js";
import { chooseRepository, type ChooseDeps } from "./choose.js";
import { linkUrl } from "./link.js";
import { offerPicker, type PickerDeps } from "./picker.js";
import { parseRequest, type SlackRequest } from "./request.js";
import { replyTo, startSession } from "./start-session.js";
import { linkedViewer, slackCall } from "./unfurl.js";

export interface StartDeps extends PickerDeps {
  choose: Omit<ChooseDeps, "db" | "log">;
}

export async function handleRequest(deps: StartDeps, req: SlackRequest): Promise<void> {
  const say = (text: string) => replyTo(deps, req, text);
  const prefix = req.direct ? "" : "@inspect ";
  if (!req.text) {
    return void (await say(
      `Tell me what to do: \`${prefix}owner/repo <task>\`, or just \`${prefix}<task>\` and I will find the repository. \`${prefix}use owner/repo here\` sets this channel's default.`,
    ));
  }
  const viewer = await linkedViewer(deps, req.teamId, req.user);
  if (!viewer) {
    // Only to the person who asked: a link token in the open could be used by someone else.
    const url = await linkUrl(deps.publicUrl, deps.secret, req.teamId, req.user);
    await slackCall(deps.log, "chat.postEphemeral", () =>
      deps.client.chat.postEphemeral({
        channel: req.channel,
        user: req.user,
        thread_ts: req.threadTs,
        text: `Link your GitHub account first, then ask again: ${url}`,
      }),
    );
    return;
  }
  const use = parseUseCommand(req.text);
  if (use) {
    let repo;
    try {
      repo = await deps.starter.repository(viewer, use);
    } catch (err) {
      if (!(err instanceof StartError)) throw err;
      return void (await say(`Cannot make ${use} this channel's default: ${err.message}.`));
    }
    await setChannelDefault(deps.db, { teamId: req.teamId, channel: req.channel }, repo.id, viewer);
    return void (await say(
      `${repo.fullName} is now this channel's default repository (set by @${viewer.login}): \`${prefix}<task>\` works on it.`,
    ));
  }
  const { named, task } = parseRequest(req.text);
  if (!task) return void (await say(`What should I do on ${named}? \`${prefix}${named} <task>\``));
  const choice = await chooseRepository({ ...deps.choose, db: deps.db, log: deps.log }, req, named);
  if (choice.kind === "chosen") await startSession(deps, req, viewer, task, choice.repo, choice.chosenBy);
  else if (choice.kind === "pick") await offerPicker(deps, req, task, choice.candidates, choice.guess);
  else await say(`I cannot tell which repository to work on. Name it: \`${prefix}owner/repo <task>\`.`);
}
