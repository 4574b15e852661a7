/**
 * Which repository a Slack request is about, by the first rule that answers: the repository
 * named in the message; the channel's default; the only repository Inspect is installed on; the
 * classifier, when it is sure enough. Otherwise the asker picks (picker.ts). Each choice says
 * which rule made it, and the reply and the card repeat that.
 */
import type { Db } from "../db/client.js";
import type { Logger } from "../util/tasks.js";
import { channelDefault } from "./channel-default.js";
import type { Classify, Guess } from "./classifier.js";
import { channelName, threadText, type ContextClient } from "./context.js";
import type { SlackRequest } from "./request.js";

export type Choice =
  | { kind: "chosen"; repo: string; chosenBy: string }
  | { kind: "pick"; candidates: string[]; guess: Guess | null }
  | { kind: "none" };

export interface ChooseDeps {
  db: Db;
  client: ContextClient;
  log: Logger;
  /** owner/name of the repositories Inspect is installed on (cached; the runner repository left out). */
  candidates(): Promise<string[]>;
  classify: Classify | null;
  threshold: number;
}

export async function chooseRepository(deps: ChooseDeps, req: SlackRequest, named: string | null): Promise<Choice> {
  if (named) return { kind: "chosen", repo: named, chosenBy: "named in the request" };
  const byChannel = await channelDefault(deps.db, req.teamId, req.channel);
  if (byChannel) return { kind: "chosen", repo: byChannel, chosenBy: "this channel's default" };
  let candidates: string[];
  try {
    candidates = await deps.candidates();
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, "Slack: listing the installed repositories failed");
    return { kind: "none" };
  }
  if (candidates.length === 0) return { kind: "none" };
  if (candidates.length === 1)
    return { kind: "chosen", repo: candidates[0]!, chosenBy: "the only repository Inspect is installed on" };
  if (!deps.classify) return { kind: "pick", candidates, guess: null };
  const [channel, thread] = await Promise.all([
    channelName(deps.client, deps.log, req.channel, req.direct),
    threadText(deps.client, deps.log, req),
  ]);
  const guess = await deps.classify({ message: req.text, thread, channel, candidates });
  if (guess && guess.confidence >= deps.threshold && candidates.includes(guess.repository)) {
    const sure = Math.round(guess.confidence * 100);
    return { kind: "chosen", repo: guess.repository, chosenBy: `chosen by the classifier (${sure}% sure)` };
  }
  deps.log.info({ guess }, "Slack repository classifier unsure: offering the picker");
  return { kind: "pick", candidates, guess };
}

/** The installed repositories, asked of GitHub at most once a minute. */
export function cachedCandidates(list: () => Promise<string[]>, leaveOut: string[], ttlMs = 60_000) {
  let cached: { at: number; names: Promise<string[]> } | null = null;
  const out = new Set(leaveOut.map((n) => n.toLowerCase()));
  return (): Promise<string[]> => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const names = list().then((all) => all.filter((n) => !out.has(n.toLowerCase())).sort());
      cached = { at: Date.now(), names };
      names.catch(() => (cached = null));
    }
    return cached.names;
  };
}
