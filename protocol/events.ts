/**
 * The session event protocol: the one definition every part imports
 * (sandbox → app → database → room → browser).
 *
 * A persisted event is `{ seq, ts, type, data }`. `seq` is assigned by the
 * control plane when it stores the event; producers send `{ type, data }`
 * (and optionally `ts`).
 */
import { z } from "zod";

export const SESSION_STATUSES = [
  "queued",
  "starting",
  "running",
  "idle",
  "completed",
  "failed",
  "stopped",
  "archived",
] as const;
export const SessionStatus = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof SessionStatus>;
/** A session still at work or waiting for more: it takes follow-ups and can be stopped. */
export const ACTIVE_STATUSES = ["queued", "starting", "running", "idle"] as const satisfies readonly SessionStatus[];

const PROMPT_SOURCES = [
  "github_comment",
  "github_assignment",
  "github_review_comment",
  "github_issue",
  "web",
  "slack",
  "cli",
  "rerun",
  /** Written by the agent of the parent session (app/children). */
  "session",
] as const;
export const PromptSource = z.enum(PROMPT_SOURCES);
export type PromptSource = z.infer<typeof PromptSource>;

/** How a prompt's source reads on the session page ("via Slack", "via GitHub comment"). */
export function promptSourceLabel(source: PromptSource): string {
  if (source === "slack") return "Slack";
  if (source === "session") return "parent session";
  return source.replace(/^github_/, "GitHub ").replace(/_/g, " ");
}

export const Author = z.object({
  login: z.string().min(1).max(100),
  id: z.number().int().nullable().optional(),
  name: z.string().max(200).nullable().optional(),
  avatarUrl: z.string().url().nullable().optional(),
});
export type Author = z.infer<typeof Author>;

const short = z.string().max(20_000);
const long = z.string().max(200_000);

/** What a turn used, as OpenCode reports it per model call; sums and formats are in usage.ts. */
export const Usage = z.object({
  /** Input tokens read fresh (not from the provider's cache). */
  inputTokens: z.number().int().nonnegative(),
  /** Output tokens, reasoning not included. */
  outputTokens: z.number().int().nonnegative(),
  reasoningTokens: z.number().int().nonnegative().optional(),
  cacheReadTokens: z.number().int().nonnegative().optional(),
  cacheWriteTokens: z.number().int().nonnegative().optional(),
  /** USD from the model's pricing in the OpenCode config. Absent: unknown (an unpriced model), never 0. */
  cost: z.number().nonnegative().optional(),
  /** `provider/model` of the turn's last model call. */
  model: z.string().max(200).optional(),
});
export type Usage = z.infer<typeof Usage>;

export const CommitRef = z.object({
  sha: z.string().regex(/^[0-9a-f]{7,64}$/),
  message: short,
});
export type CommitRef = z.infer<typeof CommitRef>;

const FilePath = z.string().max(4_000);
const count = z.number().int().nonnegative();
export const FileChange = z.enum(["added", "modified", "deleted"]);
export type FileChange = z.infer<typeof FileChange>;
/** How many files a `files.changed` event lists. */
export const FILES_CHANGED_MAX = 500;

/** Every event kind and the shape of its `data`. */
const EventData = {
  "session.status": z.object({ status: SessionStatus, reason: short.optional() }),
  "prompt.queued": z.object({
    promptId: z.number().int(),
    text: long,
    author: Author,
    source: PromptSource,
  }),
  "prompt.started": z.object({ promptId: z.number().int() }),
  "prompt.finished": z.object({
    promptId: z.number().int(),
    status: z.enum(["done", "failed", "stopped"]),
    commits: z.array(CommitRef).default([]),
    error: short.optional(),
    usage: Usage.optional(),
    changedFiles: z.number().int().nonnegative().optional(),
  }),
  /** What the running prompt has used so far, after each model call (prompt.finished has the final figure). */
  "prompt.usage": z.object({ promptId: z.number().int(), usage: Usage }),
  "prompt.cancelled": z.object({ promptId: z.number().int(), by: z.string().max(100) }),
  /** A streamed piece of assistant text; `delta` is appended to the part `partId`. */
  "agent.text.delta": z.object({ partId: z.string().max(200), delta: long }),
  /** The complete text of an assistant part; replaces any deltas seen for it. */
  "agent.text": z.object({ partId: z.string().max(200), text: long }),
  "tool.call": z.object({
    callId: z.string().max(200),
    tool: z.string().max(200),
    status: z.enum(["pending", "running", "completed", "error"]),
    title: short.optional(),
    input: short.optional(),
    output: short.optional(),
    error: short.optional(),
  }),
  /**
   * A file the turn changed, with its unified diff against the file as it was before the turn
   * (new files all additions, deleted files all deletions; none for binary files). Sent again
   * when the file changes again: the latest event for a path is its current diff.
   */
  "file.edited": z.object({
    path: FilePath,
    diff: long.optional(),
    change: FileChange.optional(),
    binary: z.boolean().optional(),
    additions: count.optional(),
    deletions: count.optional(),
    /** Diff lines left out to keep the event small (the commit has them all). */
    moreLines: count.optional(),
  }),
  /** The end of a turn's edits: every file it changed, with +/− line counts. */
  "files.changed": z.object({
    files: z
      .array(
        z.object({
          path: FilePath,
          change: FileChange,
          additions: count,
          deletions: count,
          binary: z.boolean().optional(),
        }),
      )
      .max(FILES_CHANGED_MAX),
    /** Files beyond FILES_CHANGED_MAX, counted but not listed. */
    more: count.optional(),
  }),
  "setup.output": z.object({ stream: z.enum(["stdout", "stderr"]), text: short }),
  "setup.finished": z.object({
    exitCode: z.number().int().nullable(),
    timedOut: z.boolean(),
    durationMs: z.number().nonnegative(),
  }),
  "git.commit": z.object({
    sha: z.string().regex(/^[0-9a-f]{7,64}$/),
    message: short,
    author: z.object({ name: z.string().max(200), email: z.string().max(300) }),
    files: z.number().int().nonnegative(),
  }),
  "git.push": z.object({
    branch: z.string().max(255),
    sha: z.string().regex(/^[0-9a-f]{7,64}$/),
    /** Others pushed to the branch meanwhile: the turn's commits were put on top of theirs. */
    synced: z
      .object({
        how: z.enum(["rebased", "merged"]),
        onto: z.string().regex(/^[0-9a-f]{7,64}$/),
        theirs: z.number().int().nonnegative(),
      })
      .optional(),
  }),
  "pr.opened": z.object({ number: z.number().int().positive(), url: z.string().url(), draft: z.boolean() }),
  /** A child session this session's agent spawned, as it is now (app/children): the page lists them live. */
  "child.updated": z.object({
    sessionId: z.string().max(64),
    title: z.string().max(200),
    repository: z.string().max(300),
    status: SessionStatus,
    prUrl: z.string().url().nullable(),
    prNumber: z.number().int().positive().nullable(),
  }),
  /** A file the agent made for people to see, stored by the control plane (a browser screenshot). */
  "artifact.added": z.object({
    artifactId: z.number().int().positive(),
    name: z.string().max(200),
    contentType: z.string().max(100),
    size: z.number().int().nonnegative(),
  }),
  error: z.object({ message: short, code: z.string().max(100).optional(), promptId: z.number().int().optional() }),
} as const;

export type EventType = keyof typeof EventData;
const EVENT_TYPES = Object.keys(EventData) as EventType[];
export type EventDataOf<T extends EventType> = z.infer<(typeof EventData)[T]>;

/** Event kinds a runner may send; the rest are the control plane's to write. */
const RUNNER_EVENT_TYPES = [
  "agent.text.delta",
  "agent.text",
  "tool.call",
  "file.edited",
  "files.changed",
  "prompt.usage",
  "setup.output",
  "setup.finished",
  "git.commit",
  "git.push",
  "error",
] as const satisfies readonly EventType[];

type Variant<T extends EventType> = { type: T; data: EventDataOf<T> };
export type NewEvent = { [T in EventType]: Variant<T> }[EventType];
export type SessionEvent = NewEvent & { seq: number; ts: string };

function variantSchema<T extends EventType>(type: T) {
  return z.object({ type: z.literal(type), data: EventData[type] });
}

const variants = EVENT_TYPES.map((t) => variantSchema(t));
/** An event as produced (no seq yet). */
const NewEventSchema = z.discriminatedUnion(
  "type",
  variants as unknown as [ReturnType<typeof variantSchema>, ...ReturnType<typeof variantSchema>[]],
) as unknown as z.ZodType<NewEvent>;

/** An event as persisted and delivered to viewers. */
export const SessionEventSchema = z
  .object({ seq: z.number().int().positive(), ts: z.string() })
  .and(NewEventSchema) as unknown as z.ZodType<SessionEvent>;

const runnerVariants = RUNNER_EVENT_TYPES.map((t) => variantSchema(t).extend({ ts: z.string().datetime().optional() }));
/** What a runner may append: only its own kinds. */
export const RunnerEventSchema = z.discriminatedUnion(
  "type",
  runnerVariants as unknown as [ReturnType<typeof variantSchema>, ...ReturnType<typeof variantSchema>[]],
) as unknown as z.ZodType<NewEvent & { ts?: string }>;

/** Helper for producers: a typed event literal. */
export function event<T extends EventType>(type: T, data: EventDataOf<T>): Variant<T> {
  return { type, data };
}

/** Cap text fields so one noisy tool call cannot bloat the log. */
export function trimText(text: string, max = 4_000): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.7);
  const tail = max - head - 40;
  return `${text.slice(0, head)}\n… [${text.length - head - tail} characters trimmed] …\n${text.slice(-tail)}`;
}
