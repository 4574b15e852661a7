/** The one status comment per session: what Inspect is doing, with the live link. */
import type { SessionStatus } from "../../protocol/events.js";
import type { TurnOutcome } from "../sessions/state.js";

export interface StatusView {
  status: SessionStatus;
  reason: string | null;
  sessionUrl: string;
  prUrl: string | null;
  /** What the agent is doing right now (last tool title), while running. */
  activity?: string | null;
  /** How the last finished turn ended: an idle session after a failed one says so. */
  turn?: TurnOutcome | null;
  /** The session's cost and tokens so far (usageLine), once a prompt has reported usage. */
  usage?: string | null;
  /** Sessions this session's agent spawned (app/children), each with its page and PR. */
  children?: { title: string; sessionUrl: string; status: SessionStatus; prUrl: string | null }[];
}

const MARKER = "<!-- inspect:status -->";

export function statusCommentBody(v: StatusView): string {
  const link = `[Follow the session live](${v.sessionUrl})`;
  const pr = v.prUrl ? ` Pull request: ${v.prUrl}` : "";
  let line: string;
  switch (v.status) {
    case "queued":
    case "starting":
      line = `👀 On it — starting a sandbox. ${link}`;
      break;
    case "running":
      line = `⚙️ Working${v.activity ? `: ${v.activity}` : "…"} ${link}`;
      break;
    case "idle":
      line =
        v.turn === "failed"
          ? `⚠️ ${capitalise(v.reason ?? "the prompt failed")}. Waiting for follow-ups: mention me again to continue. ${link}`
          : `💤 Done for now, waiting for follow-ups (mention me to continue).${pr} ${link}`;
      break;
    case "completed":
      line = `✅ Done.${pr} Mention me to continue. ${link}`;
      break;
    case "failed":
      line = `❌ Failed: ${v.reason ?? "unknown error"} ${link}`;
      break;
    case "stopped":
      line = `⏹️ Stopped${v.reason ? ` (${v.reason})` : ""}.${pr} ${link}`;
      break;
    case "archived":
      line = `📦 Archived${v.reason ? ` (${v.reason})` : ""}.${pr} ${link}`;
      break;
  }
  return `${MARKER}\n${line}${childrenList(v.children)}${v.usage ? `\n\n<sub>Cost so far: ${v.usage}</sub>` : ""}`;
}

/** The child sessions' pull requests (or how far they are), one line each. */
function childrenList(children: StatusView["children"]): string {
  if (!children?.length) return "";
  const lines = children.map(
    (c) => `- [${c.title.replace(/[[\]]/g, "")}](${c.sessionUrl}): ${c.prUrl ? `pull request ${c.prUrl}` : c.status}`,
  );
  return `\n\nChild sessions:\n${lines.join("\n")}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
