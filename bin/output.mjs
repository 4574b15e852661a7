// Writing to the terminal or a pipe. A reader that goes away (`inspect … | head -3`) ends the
// CLI quietly instead of with an EPIPE stack trace; the session itself goes on.

let closed = false;

for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code !== "EPIPE") throw error;
    closed = true;
    process.exit(0);
  });
}

export function out(text) {
  if (!closed) process.stdout.write(text);
}

export function err(text) {
  if (!closed) process.stderr.write(text);
}

/** One line of JSON, for scripts (--json). */
export function json(value) {
  out(`${JSON.stringify(value)}\n`);
}
