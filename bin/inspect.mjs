#!/usr/bin/env node
// The Inspect CLI (local mode): start sessions on local git repositories, list them, follow,
// stop and open them. `inspect --help` and the README list the commands and exit codes.
import { EXIT, parse, USAGE, UsageError } from "./args.mjs";
import { ApiError } from "./client.mjs";
import * as commands from "./commands.mjs";
import { err, out } from "./output.mjs";

let following = null;

// Ctrl-C while following a session detaches: the session goes on, and here is how to get back to it.
process.on("SIGINT", () => {
  if (process.stdout.isTTY) process.stdout.write("\r\x1b[K");
  if (following)
    err(
      `\nDetached from session ${following}; it keeps running.\n` +
        `  inspect logs ${following} --follow   follow it again\n` +
        `  inspect stop ${following}            stop it\n`,
    );
  process.exit(EXIT.interrupted);
});

async function main(argv) {
  const opts = parse(argv);
  if (opts.command === "help" || opts.command === undefined) {
    (opts.command === "help" ? out : err)(`${USAGE}\n`);
    return opts.command === "help" ? EXIT.ok : EXIT.usage;
  }
  return commands[opts.command](opts, (id) => (following = id));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) {
      err(`inspect: ${error.message}\n\n${USAGE}\n`);
      process.exit(EXIT.usage);
    }
    err(`inspect: ${error.message}\n`);
    process.exit(error instanceof ApiError ? EXIT.api : EXIT.failed);
  },
);
