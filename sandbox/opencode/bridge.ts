/**
 * OpenCode events → session events, for one turn of one OpenCode session.
 *
 * Plain and synchronous: feed it every event from OpenCode's stream, get back the protocol
 * events to send (possibly none). It also keeps what the turn needs at the end: token usage,
 * the last assistant text (the summary), the model error if any, and retry attempts.
 */
import path from "node:path";
import type { AssistantMessage, Event, EventMessagePartDelta, Message, Part, ToolPart } from "@opencode-ai/sdk/v2";
import { event, trimText, type NewEvent, type Usage } from "../../protocol/events.js";
import { errorEvent } from "../error-event.js";
import { UsageMeter } from "./usage-meter.js";

/** OpenCode's error shapes, on `session.error` and on a failed assistant message. */
type OpencodeError = NonNullable<AssistantMessage["error"]>;

const INPUT_MAX = 2_000;
const OUTPUT_MAX = 4_000;

export interface TurnOutcome {
  usage: Usage;
  summary: string | undefined;
  error: string | undefined;
  errorCode: string | undefined;
  retryAttempts: number;
  retryMessage: string | undefined;
}

export class TurnBridge {
  private readonly userMessages = new Set<string>();
  private readonly partKinds = new Map<string, string>();
  private readonly toolStatus = new Map<string, string>();
  private readonly finishedText = new Set<string>();
  /** Tokens and cost per model call; its `priced` set is filled in by the turn. */
  readonly usage = new UsageMeter();
  private lastText: string | undefined;
  private error: { message: string; code: string } | undefined;
  private retryAttempts = 0;
  private retryMessage: string | undefined;
  /** Set when the turn is being stopped on purpose: the abort error is expected, not news. */
  stopping = false;

  constructor(
    readonly sessionID: string,
    readonly directory: string,
  ) {}

  /**
   * The checkout-relative path of a file OpenCode says it edited, or undefined. file.edited
   * carries no session id; only one turn runs at a time, so it is ours. Its diff is made by
   * turn-changes.ts, which sees every change, not only the edit tools'.
   */
  editedFile(ev: Event): string | undefined {
    if (ev.type !== "file.edited") return undefined;
    const file: unknown = ev.properties?.file;
    if (typeof file !== "string" || !file) return undefined;
    const absolute = path.resolve(this.directory, file);
    const relative = path.relative(this.directory, absolute);
    if (!relative || relative.startsWith("..") || path.isAbsolute(relative)) return undefined;
    return relative.split(path.sep).join("/");
  }

  /** Every event of OpenCode's stream; the kinds not read here are ignored. */
  handle(ev: Event): NewEvent[] {
    if (ev.type === "file.edited") return [];
    // Another session's events (a missing id, as on some session.error, counts as ours).
    const sessionID = sessionOf(ev);
    if (sessionID !== undefined && sessionID !== this.sessionID) return [];
    switch (ev.type) {
      case "message.updated":
        return this.messageUpdated(ev.properties?.info);
      case "message.part.updated":
        return this.partUpdated(ev.properties?.part);
      case "message.part.delta":
        return this.partDelta(ev.properties ?? {});
      case "session.error":
        return this.sessionError(ev.properties?.error);
      case "session.status": {
        const status = ev.properties?.status;
        if (status?.type === "retry") {
          this.retryAttempts = Math.max(this.retryAttempts, Number(status.attempt) || this.retryAttempts + 1);
          this.retryMessage = String(status.message ?? "");
        }
        return [];
      }
      default:
        return [];
    }
  }

  outcome(): TurnOutcome {
    return {
      usage: this.usage.usage(),
      summary: this.lastText,
      error: this.error?.message,
      errorCode: this.error?.code,
      retryAttempts: this.retryAttempts,
      retryMessage: this.retryMessage,
    };
  }

  private messageUpdated(info: Message | undefined): NewEvent[] {
    if (!info?.id) return [];
    if (info.role === "user") {
      this.userMessages.add(info.id);
      return [];
    }
    if (info.role !== "assistant") return [];
    this.usage.record(info);
    if (info.error) return this.sessionError(info.error);
    return [];
  }

  private partUpdated(part: Part | undefined): NewEvent[] {
    if (!part?.id) return [];
    this.partKinds.set(part.id, part.type);
    if (this.userMessages.has(part.messageID)) return [];
    if (part.type === "text") {
      if (part.synthetic || part.ignored) return [];
      const complete = part.time?.end !== undefined;
      if (!complete || this.finishedText.has(part.id)) return [];
      this.finishedText.add(part.id);
      const text = String(part.text ?? "");
      if (text.trim()) this.lastText = text;
      return [event("agent.text", { partId: part.id, text: trimText(text, 200_000) })];
    }
    if (part.type === "tool") return this.toolUpdated(part);
    return [];
  }

  private partDelta(p: Partial<EventMessagePartDelta["properties"]>): NewEvent[] {
    if (p.field !== "text" || typeof p.delta !== "string" || !p.delta) return [];
    if (p.messageID !== undefined && this.userMessages.has(p.messageID)) return [];
    // Reasoning streams through the same delta event; only assistant text is shown.
    const kind = p.partID === undefined ? undefined : this.partKinds.get(p.partID);
    if (kind !== undefined && kind !== "text") return [];
    return [event("agent.text.delta", { partId: String(p.partID), delta: p.delta })];
  }

  private toolUpdated(part: ToolPart): NewEvent[] {
    const state = part.state;
    const status = state?.status;
    if (!status || !["pending", "running", "completed", "error"].includes(status)) return [];
    const callId = String(part.callID ?? part.id);
    // Running updates repeat while output streams; one event per status keeps the log short.
    if (this.toolStatus.get(callId) === status) return [];
    this.toolStatus.set(callId, status);
    const input =
      state.input && Object.keys(state.input).length > 0 ? trimText(JSON.stringify(state.input), INPUT_MAX) : undefined;
    return [
      event("tool.call", {
        callId,
        tool: String(part.tool ?? "unknown"),
        status,
        ...("title" in state && state.title ? { title: trimText(String(state.title), 500) } : {}),
        ...(input ? { input } : {}),
        ...(state.status === "completed" && typeof state.output === "string"
          ? { output: trimText(state.output, OUTPUT_MAX) }
          : {}),
        ...(state.status === "error" ? { error: trimText(String(state.error ?? "tool failed"), OUTPUT_MAX) } : {}),
      }),
    ];
  }

  private sessionError(error: OpencodeError | undefined): NewEvent[] {
    if (!error) return [];
    const code = String(error.name ?? "UnknownError");
    if (code === "MessageAbortedError" && this.stopping) return [];
    const message = describeError(error);
    if (this.error?.message === message) return [];
    this.error = { message, code };
    return [errorEvent(message, code)];
  }
}

/** The OpenCode session an event is about, for the kinds that carry one. */
export function sessionOf(ev: Event): string | undefined {
  const id = (ev.properties as { sessionID?: unknown } | undefined)?.sessionID;
  return typeof id === "string" ? id : undefined;
}

/** A readable one-liner for OpenCode's error shapes (APIError carries the HTTP status). */
export function describeError(error: OpencodeError): string {
  const data: { message?: unknown } = error.data ?? {};
  const message = String(data.message ?? (error as { message?: unknown }).message ?? error.name ?? "unknown error");
  if (error.name === "APIError" && error.data?.statusCode)
    return `Model request failed (HTTP ${error.data.statusCode}): ${message}`;
  if (error.name === "ProviderAuthError")
    return `Model provider ${error.data?.providerID ?? ""} rejected the credentials: ${message}`;
  return message;
}
