/**
 * A session's page on the web UI: the one place its URL is built, and read back (a check
 * run's external id is this URL).
 */
const PATH = "/sessions/";

export function sessionUrl(publicUrl: string, sessionId: string): string {
  return `${publicUrl}${PATH}${sessionId}`;
}

/** One of the session's artifacts (a screenshot), served with the session's access check. */
export function artifactUrl(publicUrl: string, sessionId: string, artifactId: number): string {
  return `${publicUrl}/api/sessions/${sessionId}/artifacts/${artifactId}`;
}

/** The session id in a URL `sessionUrl` built for this install, or undefined. */
export function sessionIdFromUrl(publicUrl: string, url: string | null | undefined): string | undefined {
  const prefix = `${publicUrl}${PATH}`;
  return url?.startsWith(prefix) ? url.slice(prefix.length) : undefined;
}
