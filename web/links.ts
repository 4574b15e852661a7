/** Link safety, shared by the server-rendered pages and the browser script. */
/** Only http(s) links: a `javascript:` URL in an event must never become a clickable link. */
export function safeHref(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** A repository's page on GitHub (or GitHub Enterprise); null for a repository on this machine. */
export function repoWebUrl(webUrl: string, repo: { fullName: string; localPath: string | null }): string | null {
  return repo.localPath === null ? `${webUrl}/${repo.fullName}` : null;
}

/** One commit on the repository's page (`repoUrl` from repoWebUrl). */
export function commitUrl(repoUrl: string, sha: string): string {
  return `${repoUrl}/commit/${encodeURIComponent(sha)}`;
}

/** A session's page on this site (the parent and child links between sessions). */
export function sessionPath(sessionId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}`;
}

/** One of a session's artifacts (a screenshot), as the page shows it. */
export function artifactPath(sessionId: string, artifactId: number): string {
  return `/api/sessions/${encodeURIComponent(sessionId)}/artifacts/${artifactId}`;
}
