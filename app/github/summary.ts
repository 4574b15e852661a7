/** What a session has done, in Markdown: for the PR body and the check run. Pure. */
import type { Usage } from "../../protocol/events.js";
import { sumUsage, usageLine } from "../../protocol/usage.js";
import type { PromptStatus } from "../db/schema.js";
import { escapeRegExp, maskNonProse } from "./mention.js";

export interface SummaryPrompt {
  author: string;
  text: string;
  status: PromptStatus;
  commits: { sha: string; message: string }[];
  summary: string | null;
  error: string | null;
  changedFiles: number | null;
  /** What the prompt's turn used (null: it never ran, or ran before usage was recorded). */
  usage?: Usage | null;
}

export interface SummaryInput {
  sessionUrl: string;
  prompts: SummaryPrompt[];
  /** `Closes #N` target for issue threads. */
  closes: number | null;
  requestedBy: string;
  /** INSPECT_BOT_HANDLE: kept out of what we write, so our own text never triggers us. */
  handle: string;
  /** Started from Slack: the asking message's permalink (null when Slack gave none). */
  slack?: { permalink: string | null } | null;
  /** The browser's screenshots, oldest first (session artifacts; their links check access). */
  screenshots?: { name: string; url: string }[];
}

const ICON: Record<PromptStatus, string> = {
  queued: "🕒",
  running: "⚙️",
  done: "✅",
  failed: "❌",
  stopped: "⏹️",
  cancelled: "➖",
};

function oneLine(text: string, handle: string, max = 120): string {
  // "@inspect fix X" reads as "fix X"; any other mention is part of the request.
  const line = text
    .replace(new RegExp(`^\\s*@${escapeRegExp(handle)}(?![\\w-])[,:]?\\s*`, "i"), "")
    .replace(/\s+/g, " ")
    .trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/**
 * `@handle` written as `&#64;handle` where it would count as a mention: GitHub shows the
 * same text, but it is no mention. A PR opened with a person's token comes back to us as
 * their `pull_request.opened`, and a mention in our own body (a quoted prompt, the agent's
 * summary) would start work on itself. Code and quotes are left as they are: nothing there
 * counts (see mention.ts).
 */
export function quoteMentions(raw: string, handle: string): string {
  const text = raw.replace(/\r\n?/g, "\n"); // as maskNonProse sees it, so offsets agree
  const prose = maskNonProse(text);
  let out = "";
  let from = 0;
  for (const m of prose.matchAll(new RegExp(`@${escapeRegExp(handle)}(?![\\w-])`, "gi"))) {
    out += `${text.slice(from, m.index)}&#64;`;
    from = m.index + 1;
  }
  return out + text.slice(from);
}

function promptList(prompts: SummaryPrompt[], handle: string): string {
  return prompts
    .filter((p) => p.status !== "cancelled")
    .map((p) => {
      const commits = p.commits.length
        ? ` — ${p.commits.map((c) => `\`${c.sha.slice(0, 7)}\``).join(", ")}`
        : p.status === "done"
          ? " — no changes"
          : "";
      const err = p.status === "failed" && p.error ? ` — ${oneLine(p.error, handle, 200)}` : "";
      return quoteMentions(`- ${ICON[p.status]} @${p.author}: ${oneLine(p.text, handle)}${commits}${err}`, handle);
    })
    .join("\n");
}

/** In the order taken: the first shows the page before the change, the last after it. */
function screenshotList(shots: NonNullable<SummaryInput["screenshots"]>): string {
  return shots
    .map((shot, i) => {
      const label =
        shots.length > 1 && i === 0 ? " (before)" : shots.length > 1 && i === shots.length - 1 ? " (after)" : "";
      return `- [${shot.name}](${shot.url})${label}`;
    })
    .join("\n");
}

export function pullRequestBody(s: SummaryInput): string {
  const latest = [...s.prompts]
    .reverse()
    .find((p) => p.summary)
    ?.summary?.trim();
  const parts = [
    latest ? quoteMentions(latest, s.handle) : "Inspect is working on this change.",
    `### Prompts\n${promptList(s.prompts, s.handle)}`,
    `[Follow the session live](${s.sessionUrl}) · requested by @${s.requestedBy}. Mention \`@${s.handle}\` on this pull request to ask for more.`,
  ];
  if (s.screenshots?.length) parts.push(`### Screenshots\n${screenshotList(s.screenshots)}`);
  if (s.slack) {
    // Slack's own link, but still outside text: only URL characters go into the Markdown link.
    const link = s.slack.permalink && /^https:\/\/[\w.:/?=&%#-]+$/.test(s.slack.permalink) ? s.slack.permalink : null;
    parts.push(link ? `Started from Slack: [the request](${link}).` : "Started from Slack.");
  }
  if (s.closes) parts.push(`Closes #${s.closes}`);
  return parts.join("\n\n");
}

export function checkRunOutput(s: SummaryInput, state: { title: string }): { title: string; summary: string } {
  const commits = s.prompts.reduce((n, p) => n + p.commits.length, 0);
  const files = s.prompts.reduce((n, p) => n + (p.changedFiles ?? 0), 0);
  const usage = sumUsage(s.prompts.map((p) => p.usage));
  const summary = [
    `**${s.prompts.filter((p) => p.status !== "cancelled").length} prompt(s), ${commits} commit(s), ${files} file change(s).** [Open the live session](${s.sessionUrl})`,
    ...(usage.parts ? [`Cost: ${usageLine(usage)}`] : []),
    promptList(s.prompts, s.handle),
  ].join("\n\n");
  return { title: state.title.slice(0, 255), summary: summary.slice(0, 65_000) };
}
