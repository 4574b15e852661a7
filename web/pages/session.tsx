/**
 * The live session page: the server renders the frame (title, status, PR, links,
 * prompt box); the client script (web/client/session.ts) fills the timeline from
 * the room and keeps everything current.
 */
import { raw } from "hono/html";
import { Layout, jsonForScript } from "../layout.js";
import { safeHref, sessionPath } from "../links.js";
import type { SessionBoot } from "../client/boot.js";
import type { RepositoryView, SessionView, Viewer } from "../deps.js";
import { threadLabel, threadUrl } from "./session-list.js";

export function SessionPage(props: {
  viewer: Viewer;
  session: SessionView;
  repo: RepositoryView;
  canWrite: boolean;
  webUrl: string;
  boot: SessionBoot;
}) {
  const { session, repo } = props;
  const thread = threadUrl(props.webUrl, { session, repo });
  return (
    <Layout title={session.title} viewer={props.viewer} scripts={["/assets/session.js"]}>
      <script type="application/json" id="boot">
        {raw(jsonForScript(props.boot))}
      </script>
      <div class="row" style="justify-content:space-between">
        <h1 id="title">{session.title}</h1>
        <div class="row">
          <div class="presence" id="presence" role="group" aria-label="Watching now"></div>
          <button type="button" id="notify" class="hidden">
            Notify me
          </button>
        </div>
      </div>
      <div class="row muted">
        <span id="status" class={`badge s-${session.status}`}>
          {session.status}
        </span>
        <span>{repo.fullName}</span>·
        {thread ? <a href={thread}>{threadLabel({ session })}</a> : <span>{threadLabel({ session })}</span>}·
        <code>{session.headBranch}</code>
        <span id="pr">{session.prUrl ? <a href={safeHref(session.prUrl)}>PR #{session.prNumber}</a> : null}</span>
        <span id="live" class="badge">
          connecting…
        </span>
      </div>
      {session.parentSessionId ? (
        <p class="muted" id="parent">
          Spawned by the agent of <a href={sessionPath(session.parentSessionId)}>session {session.parentSessionId}</a>
        </p>
      ) : null}
      <section id="children-box" class="hidden" aria-live="polite">
        <h2>Child sessions</h2>
        <ul class="list" id="children"></ul>
      </section>
      <section id="timeline" aria-live="polite"></section>
      <section id="queue-box" class="hidden">
        <h2>Queued</h2>
        <ul class="list queue" id="queue"></ul>
      </section>
      {props.canWrite ? (
        <form id="prompt-form" class="sticky">
          <label for="prompt-text" class="sr-only">
            Follow-up prompt
          </label>
          <textarea
            id="prompt-text"
            name="text"
            placeholder="Ask for a follow-up… (Ctrl+Enter queues it after the current prompt)"
            required
          ></textarea>
          <div class="row" style="justify-content:space-between;margin-top:6px">
            <span id="form-error" class="muted"></span>
            <span class="row">
              <button type="button" id="voice" class="hidden" aria-pressed="false">
                Dictate
              </button>
              <button type="button" id="stop" class="danger">
                Stop
              </button>
              <button type="submit" class="primary" id="send">
                Queue prompt
              </button>
            </span>
          </div>
        </form>
      ) : (
        <p class="notice">You can watch this session; follow-ups and Stop need write access to {repo.fullName}.</p>
      )}
    </Layout>
  );
}
