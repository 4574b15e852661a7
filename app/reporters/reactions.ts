/** 🚀 on the comment that carried a prompt, once the runner picks the prompt up. */
import type { Db } from "../db/client.js";
import { getPrompt } from "../db/prompts.js";
import type { GitHubGateway } from "../github/gateway.js";
import type { SessionService } from "../sessions/service.js";
import type { EventOf, Reporter } from "./reporter.js";

export class PickedUpReactions implements Reporter {
  readonly name = "picked-up reaction";
  readonly on = {
    "prompt.started": (sessionId: string, e: EventOf<"prompt.started">) => this.pickedUp(sessionId, e.data.promptId),
  };

  constructor(private readonly deps: { db: Db; github: GitHubGateway; sessions: SessionService }) {}

  async pickedUp(sessionId: string, promptId: number): Promise<void> {
    const prompt = await getPrompt(this.deps.db, promptId);
    if (!prompt?.commentId) return;
    const session = await this.deps.sessions.get(sessionId);
    if (!session) return;
    const repo = await this.deps.sessions.repository(session);
    if (!repo.installationId) return;
    const kind = prompt.commentKind === "review_comment" ? "review_comment" : "issue_comment";
    await this.deps.github.react(repo.installationId, repo.owner, repo.name, { id: prompt.commentId, kind }, "rocket");
  }
}
