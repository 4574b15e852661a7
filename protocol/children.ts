/**
 * Child sessions: the runner API routes the sandbox's own MCP server (sandbox/mcp) forwards the
 * agent's tool calls to, authenticated with the parent session's token. A session sees and steers
 * only the children it spawned.
 *
 *   POST /sessions/:id/children                     body SpawnChildRequest → ChildStatus
 *   GET  /sessions/:id/children                     → ChildList
 *   GET  /sessions/:id/children/:childId            → ChildStatus
 *   POST /sessions/:id/children/:childId/prompts    body ChildPromptRequest → { promptId }
 *   POST /sessions/:id/children/:childId/cancel     body {} → { stopped }
 *
 * A refusal (a cap, no write access, not a child of this session) is a 4xx whose `error` is
 * written for the agent to read.
 */
import { z } from "zod";
import { SessionStatus } from "./events.js";

/** What an agent may ask a child to do, in characters (a prompt a person types is far shorter). */
export const CHILD_PROMPT_MAX = 20_000;

export const SpawnChildRequest = z.object({
  prompt: z.string().trim().min(1).max(CHILD_PROMPT_MAX),
  /** `owner/name`; absent: the parent's repository. */
  repository: z
    .string()
    .regex(/^[\w.-]{1,100}\/[\w.-]{1,100}$/, "repository must be owner/name")
    .optional(),
  title: z.string().trim().min(1).max(200).optional(),
});
export type SpawnChildRequest = z.infer<typeof SpawnChildRequest>;

export const ChildPromptRequest = z.object({ prompt: z.string().trim().min(1).max(CHILD_PROMPT_MAX) });
export type ChildPromptRequest = z.infer<typeof ChildPromptRequest>;

export const ChildStatus = z.object({
  id: z.string(),
  url: z.string(),
  repository: z.string(),
  title: z.string(),
  status: SessionStatus,
  branch: z.string(),
  prUrl: z.string().nullable(),
  /** The agent's last message of the child's latest finished prompt (trimmed). */
  lastAssistantText: z.string().nullable(),
  /** The latest prompt's error, when it failed. */
  lastError: z.string().nullable(),
});
export type ChildStatus = z.infer<typeof ChildStatus>;

export const ChildList = z.object({ children: z.array(ChildStatus) });
export type ChildList = z.infer<typeof ChildList>;
