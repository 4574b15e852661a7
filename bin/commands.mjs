// What each command does. Each returns its exit code (args.mjs → EXIT).
import { spawn } from "node:child_process";
import path from "node:path";
import { sessionId, UsageError } from "./args.mjs";
import { call, sessionRoute } from "./client.mjs";
import { printEvents, sessionEnded } from "./follow.mjs";
import { json, out } from "./output.mjs";

const ACTIVE = ["queued", "starting", "running", "idle"];

/** `attach(id)`: the session being followed, for what Ctrl-C says. */
export async function run(opts, attach) {
  if (!opts.repo) throw new UsageError("--repo is required");
  const prompt = opts.args.join(" ").trim();
  if (!prompt) throw new UsageError("a prompt is required");
  const session = await call(opts.url, "POST", "/api/sessions", {
    repo: path.resolve(opts.repo),
    prompt,
    ...(opts.model ? { model: opts.model } : {}),
  });
  attach(session.id);
  if (opts.json) json({ id: session.id, url: session.url, status: session.status });
  else out(`Session ${session.id}: ${session.url}\n`);
  let promptId = null;
  return printEvents(opts.url, session.id, {
    json: opts.json,
    follow: true,
    done: (event) => {
      if (event.type === "prompt.queued" && promptId === null) promptId = event.data.promptId;
      if (event.type === "prompt.finished" && event.data.promptId === promptId)
        return event.data.status === "done" ? 0 : 1;
      // The session ended without finishing the prompt (e.g. the runner died).
      if (promptId !== null && sessionEnded(event) !== undefined) return 1;
      return undefined;
    },
  });
}

export async function list(opts) {
  const { sessions } = await call(opts.url, "GET", "/api/sessions");
  if (opts.json) {
    for (const s of sessions)
      json({ id: s.id, status: s.status, repo: s.repo, title: s.title, url: s.url, updatedAt: s.updatedAt });
    return 0;
  }
  if (sessions.length === 0) {
    out('No sessions yet. Start one with: inspect run --repo <path> "<prompt>"\n');
    return 0;
  }
  const width = Math.max(...sessions.map((s) => s.status.length));
  for (const s of sessions)
    out(`${s.id}  ${s.status.padEnd(width)}  ${s.repo}  ${s.title.split("\n")[0].slice(0, 80)}\n`);
  return 0;
}

export async function logs(opts, attach) {
  const id = sessionId(opts);
  const { session } = await call(opts.url, "GET", sessionRoute(id));
  if (!opts.follow || !ACTIVE.includes(session.status)) {
    await printEvents(opts.url, id, { json: opts.json, follow: false });
    // Following a session that has already ended: the exit code still says how it ended.
    return opts.follow ? (sessionEnded({ type: "session.status", data: session }) ?? 0) : 0;
  }
  attach(id);
  // Only an end that comes after now counts: a session resumed after it once completed has older ends in its log.
  const from = session.lastSeq ?? 0;
  return printEvents(opts.url, id, {
    json: opts.json,
    follow: true,
    done: (event) => (event.seq > from ? sessionEnded(event) : undefined),
  });
}

export async function stop(opts) {
  const id = sessionId(opts);
  await call(opts.url, "POST", sessionRoute(id, "/stop"), {});
  if (opts.json) json({ id, stopped: true });
  else out(`Stopping ${id}; what was pushed stays.\n`);
  return 0;
}

export async function open(opts) {
  const id = sessionId(opts);
  const { session } = await call(opts.url, "GET", sessionRoute(id));
  if (opts.json) json({ id, url: session.url });
  else out(`${session.url}\n`);
  launch(session.url);
  return 0;
}

/** The browser: $BROWSER if set, else the system's opener. Failing to start one is not an error: the URL is printed. */
function launch(url) {
  const [command, ...args] = process.env.BROWSER
    ? [process.env.BROWSER]
    : process.platform === "darwin"
      ? ["open"]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", '""']
        : ["xdg-open"];
  try {
    const child = spawn(command, [...args, url], { stdio: "ignore", detached: true });
    child.on("error", () => undefined);
    child.unref();
  } catch {
    // No opener: the printed URL will do.
  }
}
