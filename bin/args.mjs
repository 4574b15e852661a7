// The CLI's command line: commands, options, usage and exit codes (the README has the same table).

export const EXIT = {
  ok: 0,
  /** The prompt or session failed or was stopped. */
  failed: 1,
  usage: 2,
  /** The control plane could not be reached or refused the request. */
  api: 3,
  /** Ctrl-C: detached from the session, which goes on. */
  interrupted: 130,
};

export const USAGE = `Usage: inspect <command> [options]

  run --repo <path> [--model provider/model] "<prompt>"   start a session and follow it
  list                                                     sessions, newest first
  logs <id> [--follow]                                     a session's events (--follow: until it ends)
  stop <id>                                                stop a session
  open <id>                                                open a session's page in the browser

Options:
  --json   machine-readable output: one JSON value per line
  --url    control plane URL (default: $INSPECT_URL or http://localhost:3000)
  --repo   run: a local git repository (the session's branch is made there)
  --model  run: provider/model for this session (default: the control plane's)

Exit codes: 0 done, 1 the prompt or session failed or was stopped, 2 bad usage,
3 the control plane could not be reached or refused, 130 detached with Ctrl-C.`;

const COMMANDS = ["run", "list", "logs", "stop", "open", "help"];

export class UsageError extends Error {}

export function parse(argv) {
  const opts = {
    command: undefined,
    repo: null,
    model: null,
    url: process.env.INSPECT_URL || "http://localhost:3000",
    json: false,
    follow: false,
    args: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === "--repo") opts.repo = value();
    else if (arg === "--model") opts.model = value();
    else if (arg === "--url") opts.url = value();
    else if (arg === "--json") opts.json = true;
    else if (arg === "--follow" || arg === "-f") opts.follow = true;
    else if (arg === "-h" || arg === "--help") opts.command = "help";
    else if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown option ${arg}`);
    else if (opts.command === undefined) opts.command = arg;
    else opts.args.push(arg);
  }
  if (opts.command !== undefined && !COMMANDS.includes(opts.command))
    throw new UsageError(`unknown command ${opts.command}`);
  opts.url = opts.url.replace(/\/+$/, "");
  return opts;
}

/** The one session id a command takes. */
export function sessionId(opts) {
  const [id, ...extra] = opts.args;
  if (!id) throw new UsageError(`${opts.command} needs a session id (see \`inspect list\`)`);
  if (extra.length) throw new UsageError(`${opts.command} takes one session id`);
  return id;
}
