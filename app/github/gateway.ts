/**
 * Every GitHub API call Inspect makes, in one place. The session service talks
 * to this, never to Probot or Octokit directly.
 */
import type { ProbotOctokit } from "probot";

export type Octokit = InstanceType<typeof ProbotOctokit>;
/** `auth()` → app-authenticated (JWT); `auth(id)` → installation-authenticated. */
export type AuthFn = (installationId?: number) => Promise<Octokit>;

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";
export type ReactionContent = "eyes" | "rocket" | "+1" | "confused" | "hooray";
export interface CommentRef {
  id: number;
  kind: "issue_comment" | "review_comment";
}
export interface PullRequestInfo {
  number: number;
  headRef: string;
  headSha: string;
  baseRef: string;
  headRepoFullName: string | null;
  fork: boolean;
  state: string;
  url: string;
}

export class GitHubGateway {
  private slug: Promise<string> | null = null;

  constructor(private readonly auth: AuthFn) {}

  private inst(installationId: number): Promise<Octokit> {
    return this.auth(installationId);
  }

  /** The app's bot login, e.g. `inspect[bot]` (asked once). */
  async botLogin(): Promise<string> {
    this.slug ??= this.auth().then(async (o) => {
      const { data } = await o.request("GET /app");
      return data?.slug ?? "inspect";
    });
    try {
      return `${await this.slug}[bot]`;
    } catch (err) {
      this.slug = null;
      throw err;
    }
  }

  async permission(installationId: number, owner: string, repo: string, username: string): Promise<Permission> {
    const o = await this.inst(installationId);
    try {
      const { data } = await o.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { owner, repo, username });
      const role = (data as { role_name?: string }).role_name;
      if (role === "maintain" || role === "triage") return role;
      return (data.permission as Permission) ?? "none";
    } catch (err) {
      // 404: not a collaborator at all.
      if ((err as { status?: number }).status === 404) return "none";
      throw err;
    }
  }

  async react(installationId: number, owner: string, repo: string, target: CommentRef | { issue: number }, content: ReactionContent): Promise<void> {
    const o = await this.inst(installationId);
    if ("issue" in target) {
      await o.request("POST /repos/{owner}/{repo}/issues/{issue_number}/reactions", { owner, repo, issue_number: target.issue, content });
    } else if (target.kind === "review_comment") {
      await o.request("POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions", { owner, repo, comment_id: target.id, content });
    } else {
      await o.request("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", { owner, repo, comment_id: target.id, content });
    }
  }

  async comment(installationId: number, owner: string, repo: string, issueNumber: number, body: string): Promise<number> {
    const o = await this.inst(installationId);
    const { data } = await o.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { owner, repo, issue_number: issueNumber, body });
    return Number(data.id);
  }

  async editComment(installationId: number, owner: string, repo: string, commentId: number, body: string): Promise<void> {
    const o = await this.inst(installationId);
    await o.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", { owner, repo, comment_id: commentId, body });
  }

  async pullRequest(installationId: number, owner: string, repo: string, number: number): Promise<PullRequestInfo> {
    const o = await this.inst(installationId);
    const { data } = await o.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { owner, repo, pull_number: number });
    const headRepo = data.head.repo?.full_name ?? null;
    return {
      number: data.number,
      headRef: data.head.ref,
      headSha: data.head.sha,
      baseRef: data.base.ref,
      headRepoFullName: headRepo,
      fork: headRepo === null || headRepo.toLowerCase() !== `${owner}/${repo}`.toLowerCase(),
      state: data.state,
      url: data.html_url,
    };
  }

  /** A short-lived token that can only write contents of this one repository. */
  async repoToken(installationId: number, repo: string): Promise<{ token: string; expiresAt: string }> {
    const app = await this.auth();
    const { data } = await app.request("POST /app/installations/{installation_id}/access_tokens", {
      installation_id: installationId,
      repositories: [repo],
      permissions: { contents: "write" },
    });
    return { token: data.token, expiresAt: data.expires_at };
  }

  async installationFor(owner: string, repo: string): Promise<number> {
    const app = await this.auth();
    const { data } = await app.request("GET /repos/{owner}/{repo}/installation", { owner, repo });
    return data.id;
  }

  async dispatchWorkflow(installationId: number, owner: string, repo: string, workflow: string, ref: string, inputs: Record<string, string>): Promise<void> {
    const o = await this.inst(installationId);
    await o.request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", { owner, repo, workflow_id: workflow, ref, inputs });
  }
}
