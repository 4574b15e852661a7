/**
 * A session as a Slack Block Kit card (what a shared session link unfurls into). Everything
 * taken from the session is untrusted text: escaped so it cannot mention, link or format.
 */
import type { RepositoryRow } from "../db/accounts.js";
import type { SessionRow } from "../db/sessions.js";

export interface CardInput {
  session: Pick<
    SessionRow,
    "id" | "title" | "status" | "threadKind" | "threadNumber" | "prNumber" | "prUrl" | "updatedAt"
  >;
  repo: Pick<RepositoryRow, "fullName" | "localPath">;
  /** The first prompt's text (the session's title when there is none). */
  prompt: string | null;
  /** Who asked (GitHub login), if known. */
  askedBy: string | null;
  url: string;
  githubWebUrl: string;
}

/** Slack's mrkdwn escaping: &, < and > only (that is what makes a mention or a link). */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function firstLine(text: string, max = 150): string {
  const line =
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== "")
      ?.trim() ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function sessionCard(c: CardInput) {
  const { session, repo } = c;
  const title = escapeMrkdwn(firstLine(c.prompt ?? session.title) || "Untitled session");
  const onGitHub = repo.localPath === null;
  const repoText = onGitHub
    ? `<${c.githubWebUrl}/${repo.fullName}|${escapeMrkdwn(repo.fullName)}>`
    : escapeMrkdwn(repo.fullName);
  const thread =
    onGitHub &&
    session.threadNumber !== null &&
    (session.threadKind === "issue" || session.threadKind === "pull_request")
      ? ` · <${c.githubWebUrl}/${repo.fullName}/${session.threadKind === "issue" ? "issues" : "pull"}/${session.threadNumber}|#${session.threadNumber}>`
      : session.threadKind === "web"
        ? " · started on the web"
        : "";
  const updated = Math.floor(session.updatedAt.getTime() / 1000);
  const facts = [
    `*Status:* ${escapeMrkdwn(session.status)}`,
    ...(c.askedBy ? [`*Asked by:* ${escapeMrkdwn(c.askedBy)}`] : []),
    ...(session.prUrl ? [`*Pull request:* <${session.prUrl}|#${session.prNumber ?? "PR"}>`] : []),
    `*Last activity:* <!date^${updated}^{date_short_pretty} {time}|${session.updatedAt.toISOString()}>`,
  ];
  return [
    { type: "section", text: { type: "mrkdwn", text: `*<${c.url}|${title}>*\n${repoText}${thread}` } },
    { type: "context", elements: [{ type: "mrkdwn", text: facts.join("  ·  ") }] },
    {
      type: "actions",
      elements: [
        { type: "button", text: { type: "plain_text", text: "View session" }, url: c.url, action_id: "view_session" },
      ],
    },
  ];
}
