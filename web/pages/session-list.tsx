/** The session list: sessions in repositories the viewer can read, newest first. */
import { Avatar, Layout, timeAgo } from "../layout.js";
import { repoWebUrl, safeHref } from "../links.js";
import type { SessionListItem, Viewer } from "../deps.js";

export function threadLabel(item: Pick<SessionListItem, "session">): string {
  const { threadKind, threadNumber } = item.session;
  if (threadKind === "issue" && threadNumber) return `issue #${threadNumber}`;
  if (threadKind === "pull_request" && threadNumber) return `PR #${threadNumber}`;
  return threadKind === "local" ? "local" : "web";
}

export function threadUrl(webUrl: string, item: Pick<SessionListItem, "session" | "repo">): string | null {
  const { threadKind, threadNumber } = item.session;
  const repoUrl = repoWebUrl(webUrl, item.repo);
  if (repoUrl === null || !threadNumber) return null;
  return `${repoUrl}/${threadKind === "pull_request" ? "pull" : "issues"}/${threadNumber}`;
}

export function SessionListPage(props: { viewer: Viewer; items: SessionListItem[]; webUrl: string }) {
  return (
    <Layout title="Sessions" viewer={props.viewer}>
      <div class="row" style="justify-content:space-between">
        <h1>Sessions</h1>
        <a href="/sessions/new">
          <button class="primary" type="button">
            New session
          </button>
        </a>
      </div>
      {props.items.length === 0 ? (
        <p class="notice">No sessions you can see yet. Mention the bot on an issue, or start one here.</p>
      ) : (
        <ul class="list" id="sessions">
          {props.items.map((item) => {
            const thread = threadUrl(props.webUrl, item);
            return (
              <li data-session={item.session.id}>
                <span class={`badge s-${item.session.status}`}>{item.session.status}</span>
                <a class="title" href={`/sessions/${item.session.id}`}>
                  {item.session.title}
                </a>
                <span class="pr">
                  {item.session.prUrl && item.session.prNumber ? (
                    <a href={safeHref(item.session.prUrl)}>PR #{item.session.prNumber}</a>
                  ) : (
                    <span class="muted">no PR</span>
                  )}
                </span>
                <span class="meta muted row">
                  <span>{item.repo.fullName}</span>·
                  {thread ? <a href={thread}>{threadLabel(item)}</a> : <span>{threadLabel(item)}</span>}·
                  {item.author ? (
                    <span class="row" style="gap:4px">
                      <Avatar login={item.author.login} url={item.author.avatarUrl} size={18} />
                      {item.author.login}
                    </span>
                  ) : (
                    <span>unknown author</span>
                  )}
                  ·<span title={item.session.createdAt.toISOString()}>{timeAgo(item.session.createdAt)}</span>
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </Layout>
  );
}
