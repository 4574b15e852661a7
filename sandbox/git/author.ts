/**
 * Commits are authored by the person who asked and committed by the bot, so GitHub shows
 * the human and blame stays honest. The e-mail is GitHub's no-reply address for the account
 * (`<id>+<login>@…` links the commit to the account even after a rename).
 */
import type { Author } from "../../protocol/events.js";

export interface GitIdentity {
  name: string;
  email: string;
}

export function noreplyEmail(login: string, id?: number | null, domain = "users.noreply.github.com"): string {
  return id ? `${id}+${login}@${domain}` : `${login}@${domain}`;
}

/** Git rejects names made only of "crud" characters and strips <>; keep it printable. */
function cleanName(name: string): string {
  return name
    .replace(/[<>\0]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

export function authorIdentity(author: Author, domain?: string): GitIdentity {
  const name = cleanName(author.name ?? "") || author.login;
  return { name, email: noreplyEmail(author.login, author.id, domain) };
}

/** The environment that makes `git commit` use these identities (no config written). */
export function identityEnv(author: GitIdentity, committer: GitIdentity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
  };
}

/** Commit message: the prompt's one-line title, then a trailer linking the session. */
export function commitMessage(title: string, sessionUrl: string): string {
  const subject = title.replace(/\s+/g, " ").trim() || "Inspect changes";
  return `${subject}\n\nInspect-Session: ${sessionUrl}\n`;
}
