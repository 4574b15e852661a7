/**
 * The child-session tools Inspect gives its agent (OpenCode names them `inspect_<tool>`). Each
 * answers with JSON text, or with an error result the agent can read and act on.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { CHILD_PROMPT_MAX } from "../../protocol/children.js";
import { InspectId } from "../../protocol/ids.js";
import { ChildToolError, type ChildrenApi } from "./children-api.js";

type Result = { content: { type: "text"; text: string }[]; isError?: boolean };

async function answer(work: () => Promise<unknown>): Promise<Result> {
  try {
    return { content: [{ type: "text", text: JSON.stringify(await work(), null, 2) }] };
  } catch (error) {
    const message = error instanceof ChildToolError ? error.message : `The tool failed: ${(error as Error).message}`;
    return { content: [{ type: "text", text: message }], isError: true };
  }
}

const sessionId = InspectId.describe("The child session's id, as spawn_session or list_children gave it");
const prompt = z.string().min(1).max(CHILD_PROMPT_MAX);

export function registerChildTools(server: McpServer, api: ChildrenApi): void {
  server.registerTool(
    "spawn_session",
    {
      title: "Start a child session",
      description:
        "Start a child session: another Inspect agent in a sandbox of its own, on its own branch, that opens its own pull request when it pushes. Use it to split a large task into smaller, independent pull requests, or to do separate work in parallel. It runs on its own: this call returns at once with the child's id; follow it with session_status. The child starts from the repository's default branch, not from your changes. The number of children and their depth are capped.",
      inputSchema: {
        prompt: prompt.describe(
          "What the child should do: everything it needs to know, it sees nothing of this session",
        ),
        repository: z
          .string()
          .regex(/^[\w.-]{1,100}\/[\w.-]{1,100}$/)
          .optional()
          .describe("owner/name of another repository (the requester needs write access there); default: this one"),
        title: z.string().min(1).max(200).optional().describe("A short title for the child session"),
      },
    },
    (args) => answer(() => api.spawn(args)),
  );
  server.registerTool(
    "session_status",
    {
      title: "A child session's status",
      description:
        "Status of a child session this session spawned: queued, starting, running, idle (its prompt is done, waiting for more), completed, failed or stopped; its last message, its error if it failed, and its pull request once it pushed.",
      inputSchema: { session_id: sessionId },
    },
    (args) => answer(() => api.status(args.session_id)),
  );
  server.registerTool(
    "send_prompt",
    {
      title: "Send a child session a follow-up",
      description:
        "Queue a follow-up prompt on a child session; it is taken after the child's current prompt, on the same branch and pull request.",
      inputSchema: { session_id: sessionId, prompt },
    },
    (args) => answer(() => api.prompt(args.session_id, args.prompt)),
  );
  server.registerTool(
    "cancel_session",
    {
      title: "Stop a child session",
      description:
        "Stop a child session: its running prompt ends at once, queued ones are dropped; what it pushed stays.",
      inputSchema: { session_id: sessionId },
    },
    (args) => answer(() => api.cancel(args.session_id)),
  );
  server.registerTool(
    "list_children",
    {
      title: "This session's children",
      description: "Every child session this session spawned, with its status and pull request.",
      inputSchema: {},
    },
    () => answer(() => api.list()),
  );
}
