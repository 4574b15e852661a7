// One readable terminal line per session event (or null to print nothing).
// `state.streaming` remembers the text part being streamed so deltas print inline.

const plural = (n, one) => `${n} ${n === 1 ? one : `${one}s`}`;

const firstLine = (text, max = 100) => {
  const line =
    String(text ?? "")
      .split("\n")
      .find((l) => l.trim()) ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** What a tool call is about: its title, else the path/command/pattern in its input. */
function toolSubject(d) {
  if (d.title) return firstLine(d.title, 80);
  try {
    const input = JSON.parse(d.input ?? "{}");
    const subject = input.filePath ?? input.path ?? input.command ?? input.pattern ?? input.url ?? input.description;
    if (typeof subject === "string") return firstLine(subject, 80);
  } catch {
    // Trimmed or not JSON: fall through.
  }
  return firstLine(d.input, 80);
}

export function formatEvent(event, state = { streaming: null }) {
  const d = event.data ?? {};
  let prefix = "";
  if (state.streaming && !(event.type === "agent.text.delta" && d.partId === state.streaming)) {
    // Close the streamed line before anything else is printed.
    if (!(event.type === "agent.text" && d.partId === state.streaming)) prefix = "\n";
  }
  const line = (text) => `${prefix}${text}\n`;
  switch (event.type) {
    case "session.status":
      return line(`· session ${d.status}${d.reason ? ` — ${d.reason}` : ""}`);
    case "prompt.queued":
      return line(`» @${d.author?.login ?? "?"}: ${firstLine(d.text)}`);
    case "prompt.started":
      return line(`▶ prompt ${d.promptId} started`);
    case "prompt.cancelled":
      return line(`× prompt ${d.promptId} cancelled by @${d.by}`);
    case "agent.text.delta": {
      const start = state.streaming === d.partId ? "" : `${prefix}  `;
      state.streaming = d.partId;
      return `${start}${d.delta.replace(/\n/g, "\n  ")}`;
    }
    case "agent.text": {
      if (state.streaming === d.partId) {
        state.streaming = null;
        return "\n";
      }
      state.streaming = null;
      return line(`  ${d.text.replace(/\n/g, "\n  ")}`);
    }
    case "tool.call": {
      state.streaming = null;
      if (d.status === "pending") return null;
      const what = toolSubject(d);
      if (d.status === "running") return line(`  ⚙ ${d.tool} ${what}`);
      if (d.status === "error") return line(`  ✖ ${d.tool} failed: ${firstLine(d.error)}`);
      return line(`  ✓ ${d.tool} ${what}`);
    }
    case "file.edited":
      return line(
        `  ✎ ${d.path}${d.binary ? " (binary)" : d.additions !== undefined ? ` +${d.additions} −${d.deletions ?? 0}` : ""}`,
      );
    case "files.changed": {
      const total = d.files.length + (d.more ?? 0);
      const adds = d.files.reduce((n, f) => n + f.additions, 0);
      const dels = d.files.reduce((n, f) => n + f.deletions, 0);
      return line(`  ${plural(total, "file")} changed, +${adds} −${dels}`);
    }
    case "setup.output":
      return line(
        d.text
          .replace(/\n$/, "")
          .split("\n")
          .map((l) => `  │ ${l}`)
          .join("\n"),
      );
    case "setup.finished":
      return line(
        `· setup ${d.timedOut ? "timed out" : `exited ${d.exitCode}`} after ${(d.durationMs / 1000).toFixed(1)} s`,
      );
    case "git.commit":
      return line(
        `● commit ${d.sha.slice(0, 10)} by ${d.author.name} <${d.author.email}> (${plural(d.files, "file")})`,
      );
    case "git.push": {
      const s = d.synced;
      const meanwhile = s ? ` (${s.how} onto ${s.theirs} commit${s.theirs === 1 ? "" : "s"} pushed meanwhile)` : "";
      return line(`↑ pushed ${d.branch} at ${d.sha.slice(0, 10)}${meanwhile}`);
    }
    case "pr.opened":
      return line(`⇡ pull request #${d.number}: ${d.url}`);
    case "error":
      return line(`✖ ${d.message}`);
    case "prompt.finished": {
      state.streaming = null;
      const commits = (d.commits ?? []).length;
      const summary =
        d.status === "done"
          ? commits
            ? `${plural(commits, "commit")}, ${plural(d.changedFiles ?? 0, "file")} changed`
            : "no changes"
          : (d.error ?? "");
      return line(`■ prompt ${d.promptId} ${d.status}${summary ? ` — ${firstLine(summary, 300)}` : ""}`);
    }
    default:
      return null;
  }
}
