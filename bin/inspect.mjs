#!/usr/bin/env node
// The Inspect CLI (local mode): start a session on a local git repository and follow it.
//
//   npx inspect run --repo <path> [--model provider/model] [--url http://localhost:3000] "<prompt>"
//
// It calls the control plane's POST /api/sessions, prints the session link, then prints one
// readable line per session event (GET /api/sessions/:id/events?since=N) until the prompt
// finishes. Exit code: 0 when the prompt is done, 1 when it failed or was stopped.
import path from "node:path";
import { formatEvent } from "./format-event.mjs";

const USAGE = `Usage: inspect run --repo <path> [--model provider/model] [--url <control plane>] "<prompt>"

  --repo   a local git repository (the session's branch is pushed there)
  --model  provider/model for this session (default: the control plane's)
  --url    control plane URL (default: $INSPECT_URL or http://localhost:3000)`;

function parse(argv) {
  const [command, ...rest] = argv;
  const opts = {
    command,
    repo: null,
    model: null,
    url: process.env.INSPECT_URL || "http://localhost:3000",
    prompt: [],
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === "--repo") opts.repo = value();
    else if (arg === "--model") opts.model = value();
    else if (arg === "--url") opts.url = value();
    else if (arg === "-h" || arg === "--help") opts.command = "help";
    else if (arg.startsWith("--")) fail(`unknown option ${arg}`);
    else opts.prompt.push(arg);
  }
  return opts;
}

function fail(message) {
  process.stderr.write(`inspect: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function call(base, method, route, body) {
  let res;
  try {
    res = await fetch(base + route, {
      method,
      // The session page and the CLI share the start route: this says a prompt came from here.
      headers: { "x-inspect-client": "cli", ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    throw new Error(
      `cannot reach the control plane at ${base} (${error.cause?.code ?? error.message}). Is \`npm start\` running?`,
      { cause: error },
    );
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text.slice(0, 300) };
  }
  if (!res.ok) throw new Error(data.error ?? `${method} ${route} answered ${res.status}`);
  return data;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(opts) {
  if (!opts.repo) fail("--repo is required");
  const prompt = opts.prompt.join(" ").trim();
  if (!prompt) fail("a prompt is required");
  const base = opts.url.replace(/\/+$/, "");
  const session = await call(base, "POST", "/api/sessions", {
    repo: path.resolve(opts.repo),
    prompt,
    ...(opts.model ? { model: opts.model } : {}),
  });
  process.stdout.write(`Session ${session.id}: ${session.url}\n`);

  let since = 0;
  let promptId = null;
  const state = { streaming: null };
  for (;;) {
    const { events } = await call(base, "GET", `/api/sessions/${session.id}/events?since=${since}`);
    for (const event of events) {
      since = Math.max(since, event.seq);
      if (event.type === "prompt.queued" && promptId === null) promptId = event.data.promptId;
      const line = formatEvent(event, state);
      if (line !== null) process.stdout.write(line);
      if (event.type === "prompt.finished" && event.data.promptId === promptId) {
        if (state.streaming) process.stdout.write("\n");
        return event.data.status === "done" ? 0 : 1;
      }
      if (
        event.type === "session.status" &&
        ["failed", "stopped", "archived"].includes(event.data.status) &&
        promptId !== null
      ) {
        // The session ended without finishing the prompt (e.g. the runner died).
        return 1;
      }
    }
    await sleep(events.length ? 100 : 400);
  }
}

const opts = parse(process.argv.slice(2));
if (opts.command === "help" || opts.command === undefined) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(opts.command === "help" ? 0 : 2);
}
if (opts.command !== "run") fail(`unknown command ${opts.command}`);
run(opts).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`inspect: ${error.message}\n`);
    process.exit(1);
  },
);
