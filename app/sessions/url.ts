/**
 * A session's page on the web UI: the one place its URL is built, and read back (a check
 * run's external id is this URL).
 */
const PATH = "/sessions/";

export function sessionUrl(publicUrl: string, sessionId: string): string {
  return `${publicUrl}${PATH}${sessionId}`;
}

/** The session id in a URL `sessionUrl` built for this install, or undefined. */
export function sessionIdFromUrl(publicUrl: string, url: string | null | undefined): string | undefined {
  const prefix = `${publicUrl}${PATH}`;
  return url?.startsWith(prefix) ? url.slice(prefix.length) : undefined;
}
