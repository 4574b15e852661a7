// A live one-line indicator while nothing else is printed — setup running, the model thinking —
// so a quiet terminal does not look stuck. Only on a terminal: a pipe or a file gets the event
// lines alone.

const FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
const QUIET_MS = 700;

export class Progress {
  constructor(stream = process.stdout) {
    this.stream = stream;
    this.enabled = Boolean(stream.isTTY) && !process.env.CI;
    this.label = null;
    this.since = Date.now();
    this.lastOutput = Date.now();
    this.shown = false;
    this.frame = 0;
    this.timer = null;
  }

  /** What is going on now ("setting up", "thinking"), or null for nothing to show. */
  set(label) {
    if (label !== this.label) this.since = Date.now();
    this.label = label;
    if (!this.enabled) return;
    if (label && !this.timer) this.timer = setInterval(() => this.tick(), 100);
    if (!label) this.stop();
  }

  /** Clear the indicator before a real line is printed; it comes back once things are quiet again. */
  clear() {
    this.lastOutput = Date.now();
    if (this.shown) this.stream.write("\r\x1b[K");
    this.shown = false;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  tick() {
    if (!this.label || Date.now() - this.lastOutput < QUIET_MS) return;
    const seconds = Math.floor((Date.now() - this.since) / 1000);
    this.frame = (this.frame + 1) % FRAMES.length;
    this.stream.write(`\r\x1b[K${FRAMES[this.frame]} ${this.label}… ${seconds}s`);
    this.shown = true;
  }
}

/** What the session is doing after this event, as far as the indicator cares. */
export function phaseAfter(event, phase) {
  switch (event.type) {
    case "session.status":
      if (event.data.status === "starting" || event.data.status === "queued") return "starting the sandbox";
      return ["running", "idle"].includes(event.data.status) ? phase : null;
    case "setup.output":
      return "setting up";
    case "setup.finished":
      return "waiting for the agent";
    case "prompt.started":
    case "agent.text":
      return "thinking";
    case "tool.call":
      return event.data.status === "running" ? `running ${event.data.tool}` : "thinking";
    case "git.commit":
      return "pushing";
    case "prompt.finished":
    case "error":
      return null;
    default:
      return phase;
  }
}
