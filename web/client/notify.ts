/**
 * Browser notifications for a session someone keeps open in a background tab: a prompt
 * finished (the session waits for them) or the session failed. Off until they press the
 * button, which asks the browser's permission (browsers ignore or penalise unprompted asks);
 * the choice is remembered for the next session page. Shown only while the page is not in
 * front of them, and never for the history replayed when the page opens.
 */
import type { SessionEvent } from "../../protocol/events.js";

const KEY = "inspect.notify";

export class Notifier {
  /** Events older than the page are history, not news. */
  private readonly since = Date.now() - 5_000;
  private on = false;

  constructor(
    private readonly button: HTMLButtonElement | null,
    private readonly title: string,
  ) {
    if (!button || !("Notification" in window)) return;
    this.on = localStorage.getItem(KEY) === "on" && Notification.permission === "granted";
    button.classList.remove("hidden");
    this.show();
    button.addEventListener("click", async () => {
      if (this.on) this.on = false;
      else this.on = (await Notification.requestPermission()) === "granted";
      localStorage.setItem(KEY, this.on ? "on" : "off");
      this.show();
    });
  }

  apply(e: SessionEvent): void {
    if (!this.on || Notification.permission !== "granted") return;
    if (Date.parse(e.ts) < this.since || (document.visibilityState === "visible" && document.hasFocus())) return;
    const message = messageFor(e);
    if (!message) return;
    const n = new Notification(message, { body: this.title, tag: `inspect-${location.pathname}` });
    n.onclick = () => {
      window.focus();
      n.close();
    };
  }

  private show(): void {
    const blocked = Notification.permission === "denied";
    this.button!.textContent = blocked ? "Notifications blocked" : this.on ? "Notifications on" : "Notify me";
    this.button!.setAttribute("aria-pressed", String(this.on));
    this.button!.disabled = blocked;
  }
}

function messageFor(e: SessionEvent): string | null {
  if (e.type === "prompt.finished") {
    if (e.data.status === "done") return "Inspect finished — your turn";
    if (e.data.status === "failed") return "Inspect failed and needs you";
    return null;
  }
  if (e.type === "session.status" && e.data.status === "failed") return "Inspect's session failed";
  return null;
}
