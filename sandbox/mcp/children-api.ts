/**
 * The runtime's calls to the child-session routes of the runner API (protocol/children.ts),
 * with the session token, which never leaves this process. A refusal comes back as a
 * ChildToolError carrying the control plane's message, meant for the agent.
 */
import { RUNNER_API_PREFIX } from "../../protocol/runner-api.js";
import { ChildList, ChildStatus, type ChildPromptRequest, type SpawnChildRequest } from "../../protocol/children.js";
import { z } from "zod";

export class ChildToolError extends Error {
  override name = "ChildToolError";
}

/** Who we are to the control plane; null until the session is claimed. */
export interface SessionCredential {
  controlPlaneUrl: string;
  sessionId: string;
  token: string;
}

const TIMEOUT_MS = 30_000;

export class ChildrenApi {
  constructor(private readonly credential: () => SessionCredential | null) {}

  spawn(req: SpawnChildRequest): Promise<ChildStatus> {
    return this.call("POST", "", req, ChildStatus);
  }

  async list(): Promise<ChildStatus[]> {
    return (await this.call("GET", "", undefined, ChildList)).children;
  }

  status(childId: string): Promise<ChildStatus> {
    return this.call("GET", `/${encodeURIComponent(childId)}`, undefined, ChildStatus);
  }

  prompt(childId: string, prompt: ChildPromptRequest["prompt"]): Promise<{ promptId: number }> {
    return this.call("POST", `/${encodeURIComponent(childId)}/prompts`, { prompt }, z.object({ promptId: z.number() }));
  }

  cancel(childId: string): Promise<{ stopped: boolean }> {
    return this.call("POST", `/${encodeURIComponent(childId)}/cancel`, {}, z.object({ stopped: z.boolean() }));
  }

  private async call<S extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    schema: S,
  ): Promise<z.infer<S>> {
    const who = this.credential();
    if (!who) throw new ChildToolError("This sandbox has no session yet; try again in a moment.");
    const url = `${who.controlPlaneUrl.replace(/\/+$/, "")}${RUNNER_API_PREFIX}/sessions/${encodeURIComponent(who.sessionId)}/children${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${who.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new ChildToolError(`Inspect's control plane could not be reached: ${(error as Error).message}`);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      /* not JSON: said below */
    }
    if (!res.ok) {
      const message = (json as { error?: unknown } | null)?.error;
      throw new ChildToolError(typeof message === "string" ? message : `Inspect answered HTTP ${res.status}`);
    }
    return schema.parse(json);
  }
}
