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
