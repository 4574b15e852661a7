/** The page frame every page shares: header, navigation, who is signed in. */
import type { Child } from "hono/jsx";
import type { Viewer } from "./deps.js";

export function Avatar(props: { login: string; url: string | null | undefined; size?: number }) {
  const size = props.size ?? 24;
  const style = `width:${size}px;height:${size}px`;
  if (props.url) return <img class="avatar" src={props.url} alt={props.login} title={props.login} style={style} />;
  return (
    <span class="avatar" title={props.login} style={style}>
      {props.login.slice(0, 1).toUpperCase()}
    </span>
  );
}

export function Layout(props: { title: string; viewer: Viewer | null; children: Child; scripts?: string[] }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Inspect</title>
        <link rel="stylesheet" href="/assets/app.css" />
        {(props.scripts ?? []).map((src) => (
          <script type="module" src={src}></script>
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            Inspect
          </a>
          <nav aria-label="Main">
            <a href="/">Sessions</a>
            <a href="/sessions/new">New</a>
            <a href="/stats">Stats</a>
          </nav>
          {props.viewer && (
            <span class="row">
              <Avatar login={props.viewer.login} url={props.viewer.avatarUrl} />
              <span>{props.viewer.login}</span>
              {!props.viewer.local && (
                <form method="post" action="/auth/logout" style="margin:0">
                  <button type="submit">Sign out</button>
                </form>
              )}
            </span>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function ErrorPage(props: { viewer: Viewer | null; title: string; message: string }) {
  return (
    <Layout title={props.title} viewer={props.viewer}>
      <h1>{props.title}</h1>
      <p class="notice">{props.message}</p>
    </Layout>
  );
}

/** JSON for a <script type="application/json"> block; `<` escaped so it cannot close the tag. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

export function timeAgo(date: Date, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}
