/** The live session page: timeline, presence, queue, prompt box and Stop. */
import { ACTIVE_STATUSES, type SessionStatus } from "../../protocol/events.js";
import type { SessionBoot } from "./boot.js";
import { avatar, h, safeHref } from "./dom.js";
import { artifactPath } from "../links.js";
import { ChildrenList } from "./children.js";
import { EventFeed } from "./feed.js";
import { Notifier } from "./notify.js";
import { Timeline, type QueuedPrompt } from "./timeline.js";
import { attachVoice } from "./voice.js";

const boot = JSON.parse(document.getElementById("boot")!.textContent!) as SessionBoot;
const $ = (id: string) => document.getElementById(id);
const api = (path: string) => `/api/sessions/${encodeURIComponent(boot.sessionId)}${path}`;

function showStatus(status: SessionStatus) {
  const el = $("status")!;
  el.textContent = status;
  el.className = `badge s-${status}`;
  const stop = $("stop") as HTMLButtonElement | null;
  if (stop) stop.disabled = !(ACTIVE_STATUSES as readonly SessionStatus[]).includes(status);
}

function showQueue(queued: QueuedPrompt[]) {
  $("queue-box")!.classList.toggle("hidden", queued.length === 0);
  $("queue")!.replaceChildren(
    ...queued.map((q) => {
      const li = h(
        "li",
        { "data-prompt": String(q.promptId) },
        avatar(q.author.login, q.author.avatarUrl, 20),
        h("span", { style: "flex:1" }, q.text.split("\n")[0]!.slice(0, 140)),
      );
      if (boot.canWrite && q.author.login === boot.viewer.login) {
        const cancel = h("button", { type: "button", class: "danger" }, "Cancel");
        cancel.addEventListener("click", () => void request("DELETE", `/prompts/${q.promptId}`));
        li.append(cancel);
      }
      return li;
    }),
  );
}

async function request(method: string, path: string, body?: unknown): Promise<boolean> {
  const error = $("form-error");
  const res = await fetch(api(path), {
    method,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.ok) {
    if (error) error.textContent = "";
    return true;
  }
  const message = await res.json().then(
    (b: { error?: string }) => b.error,
    () => null,
  );
  if (error) error.textContent = message ?? `failed (HTTP ${res.status})`;
  return false;
}

const children = new ChildrenList($("children-box")!, $("children")!);

const timeline = new Timeline(
  $("timeline")!,
  {
    onStatus: showStatus,
    onQueueChange: showQueue,
    onPullRequest: (url, number) => $("pr")!.replaceChildren(h("a", { href: safeHref(url) }, `PR #${number}`)),
    onChild: (child) => children.update(child),
    artifactSrc: (id) => artifactPath(boot.sessionId, id),
  },
  boot.repoUrl,
);

const notifier = new Notifier($("notify") as HTMLButtonElement | null, document.title);

const feed = new EventFeed(boot.sessionId, {
  onEvent: (e) => {
    timeline.apply(e);
    notifier.apply(e);
  },
  onPresence: (watchers) => $("presence")!.replaceChildren(...watchers.map((w) => avatar(w.login, w.avatarUrl, 28))),
  onState: (state) => {
    const el = $("live")!;
    el.textContent = state === "live" ? "live" : state === "polling" ? "reconnecting…" : "connecting…";
    el.dataset.state = state;
  },
});

showStatus(boot.status);
void feed.start(boot.roomAvailable);

const form = $("prompt-form") as HTMLFormElement | null;
form?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = ($("prompt-text") as HTMLTextAreaElement).value.trim();
  if (!text) return;
  const send = $("send") as HTMLButtonElement;
  send.disabled = true;
  // The prompt appears for everyone (this page included) through its prompt.queued event.
  if (await request("POST", "/prompts", { text })) ($("prompt-text") as HTMLTextAreaElement).value = "";
  send.disabled = false;
});
// Ctrl/Cmd+Enter queues the prompt, as in GitHub's comment box.
$("prompt-text")?.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form?.requestSubmit();
});
$("stop")?.addEventListener("click", () => void request("POST", "/stop"));
attachVoice($("prompt-text") as HTMLTextAreaElement | null, $("voice") as HTMLButtonElement | null);
