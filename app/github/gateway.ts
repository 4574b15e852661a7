/**
 * Every GitHub API call Inspect makes, in one place. The session service talks
 * to this, never to Probot or Octokit directly. Sign-in's calls, made as the person
 * signing in, are in user-api.ts beside it.
 */
import { ProbotOctokit } from "probot";
import { GITHUB_REQUEST_TIMEOUT_MS, withRequestTimeout } from "./octokit.js";

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

export interface CheckRunOutput {
  title: string;
  summary: string;
}
export type CheckConclusion = "success" | "failure" | "cancelled" | "neutral";
/** Who a write is made as: the app's installation, or a signed-in user's own token. */
export type Actor = { installationId: number } | { userToken: string };

export class GitHubGateway {
  private slug: Promise<string> | null = null;

  /** `asUser` builds an Octokit authenticated with a user's OAuth token. */
  constructor(
    private readonly auth: AuthFn,
    private readonly asUser: (token: string) => Octokit = () => {
      throw new Error("user tokens are not configured");
    },
  ) {}

  private actor(a: Actor): Promise<Octokit> {
    return "userToken" in a ? Promise.resolve(this.asUser(a.userToken)) : this.auth(a.installationId);
  }

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
      const { data } = await o.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
        owner,
        repo,
        username,
      });
      const role = (data as { role_name?: string }).role_name;
      if (role === "maintain" || role === "triage") return role;
      return (data.permission as Permission) ?? "none";
    } catch (err) {
      // 404: not a collaborator at all.
      if ((err as { status?: number }).status === 404) return "none";
      throw err;
    }
  }

  async react(
    installationId: number,
    owner: string,
    repo: string,
    target: CommentRef | { issue: number },
    content: ReactionContent,
  ): Promise<void> {
    const o = await this.inst(installationId);
    if ("issue" in target) {
      await o.request("POST /repos/{owner}/{repo}/issues/{issue_number}/reactions", {
        owner,
        repo,
        issue_number: target.issue,
        content,
      });
    } else if (target.kind === "review_comment") {
      await o.request("POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions", {
        owner,
        repo,
        comment_id: target.id,
        content,
      });
    } else {
      await o.request("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", {
        owner,
        repo,
        comment_id: target.id,
        content,
      });
    }
  }

  async comment(
    installationId: number,
    owner: string,
    repo: string,
    issueNumber: number,
    body: string,
  ): Promise<number> {
    const o = await this.inst(installationId);
    const { data } = await o.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner,
      repo,
      issue_number: issueNumber,
      body,
    });
    return Number(data.id);
  }

  async editComment(
    installationId: number,
    owner: string,
    repo: string,
    commentId: number,
    body: string,
  ): Promise<void> {
    const o = await this.inst(installationId);
    await o.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
      owner,
      repo,
      comment_id: commentId,
      body,
    });
  }

  async pullRequest(installationId: number, owner: string, repo: string, number: number): Promise<PullRequestInfo> {
    const o = await this.inst(installationId);
    const { data } = await o.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
      owner,
      repo,
      pull_number: number,
    });
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
  /** `read`: a pooled sandbox's (app/pool), which may fetch but never push. */
  async repoToken(
    installationId: number,
    repo: string,
    contents: "read" | "write" = "write",
  ): Promise<{ token: string; expiresAt: string }> {
    const app = await this.auth();
    const { data } = await app.request("POST /app/installations/{installation_id}/access_tokens", {
      installation_id: installationId,
      repositories: [repo],
      permissions: { contents },
    });
    return { token: data.token, expiresAt: data.expires_at };
  }

  async repository(
    installationId: number,
    owner: string,
    repo: string,
  ): Promise<{ id: number; defaultBranch: string; private: boolean }> {
    const o = await this.inst(installationId);
    const { data } = await o.request("GET /repos/{owner}/{repo}", { owner, repo });
    return { id: Number(data.id), defaultBranch: data.default_branch, private: data.private };
  }

  /** Whether a branch exists (a new session's branch name may be taken by an older session's). */
  async branchExists(installationId: number, owner: string, repo: string, branch: string): Promise<boolean> {
    const o = await this.inst(installationId);
    try {
      await o.request("GET /repos/{owner}/{repo}/git/ref/{ref}", { owner, repo, ref: `heads/${branch}` });
      return true;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return false;
      throw err;
    }
  }

  /** owner/name of every repository the App's installations can reach, up to `limit` (Slack's repository choice). */
  async installedRepositories(limit = 1000): Promise<string[]> {
    const app = await this.auth();
    const names: string[] = [];
    for await (const { data: installs } of app.paginate.iterator("GET /app/installations", { per_page: 100 })) {
      for (const inst of installs) {
        const o = await this.inst(inst.id);
        for await (const { data } of o.paginate.iterator("GET /installation/repositories", { per_page: 100 })) {
          for (const r of data) if (names.push(r.full_name) >= limit) return names;
        }
      }
    }
    return names;
  }

  async installationFor(owner: string, repo: string): Promise<number> {
    const app = await this.auth();
    const { data } = await app.request("GET /repos/{owner}/{repo}/installation", { owner, repo });
    return data.id;
  }

  /**
   * `workflow_dispatch`, asking for the run's id (`return_run_details`, GitHub since 2026-02:
   * 200 with `workflow_run_id`). A host without it answers 204 (→ `runId: null`); one that
   * refuses the unknown parameter (422 naming it) is asked again without it.
   */
  async dispatchWorkflow(
    installationId: number,
    owner: string,
    repo: string,
    workflow: string,
    ref: string,
    inputs: Record<string, string>,
  ): Promise<{ runId: number | null }> {
    const o = await this.inst(installationId);
    const route = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches" as const;
    let res: { status: number; data: unknown };
    try {
      res = await o.request(route, { owner, repo, workflow_id: workflow, ref, inputs, return_run_details: true });
    } catch (err) {
      const e = err as { status?: number; message?: string };
      if (e.status !== 422 || !/return_run_details/.test(String(e.message))) throw err;
      res = await o.request(route, { owner, repo, workflow_id: workflow, ref, inputs });
    }
    const runId =
      res.status === 200 ? Number((res.data as { workflow_run_id?: unknown } | undefined)?.workflow_run_id) : NaN;
    return { runId: Number.isSafeInteger(runId) && runId > 0 ? runId : null };
  }

  /** A workflow run of a repository, or null when there is none by that id (404). */
  async workflowRun(
    installationId: number,
    owner: string,
    repo: string,
    runId: number,
  ): Promise<WorkflowRunInfo | null> {
    const o = await this.inst(installationId);
    try {
      const { data } = await o.request("GET /repos/{owner}/{repo}/actions/runs/{run_id}", {
        owner,
        repo,
        run_id: runId,
      });
      const d = data as typeof data & { display_title?: string; triggering_actor?: { login?: string } | null };
      return {
        id: Number(d.id),
        title: d.display_title ?? d.name ?? null,
        path: d.path,
        event: d.event,
        createdAt: new Date(d.created_at),
        triggeringActor: d.triggering_actor?.login ?? d.actor?.login ?? null,
      };
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  /**
   * Cancel a workflow run (202). A run that already finished answers 409: nothing left to cancel,
   * so that is not an error (false); a run GitHub does not know, 404, neither.
   */
  async cancelWorkflowRun(installationId: number, owner: string, repo: string, runId: number): Promise<boolean> {
    const o = await this.inst(installationId);
    try {
      await o.request("POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel", { owner, repo, run_id: runId });
      return true;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 409 || status === 404) return false;
      throw err;
    }
  }

  /** Open a PR; if one already exists for the branch (422), adopt it. */
  async createPullRequest(
    as: Actor,
    installationId: number,
    pr: NewPullRequest,
  ): Promise<{ number: number; url: string; created: boolean }> {
    const o = await this.actor(as);
    try {
      const { data } = await o.request("POST /repos/{owner}/{repo}/pulls", {
        owner: pr.owner,
        repo: pr.repo,
        head: pr.head,
        base: pr.base,
        title: pr.title,
        body: pr.body,
        draft: pr.draft,
      });
      return { number: data.number, url: data.html_url, created: true };
    } catch (err) {
      if ((err as { status?: number }).status !== 422) throw err;
      const existing = await this.findPullRequest(installationId, pr.owner, pr.repo, pr.head);
      if (!existing) throw err;
      return { ...existing, created: false };
    }
  }

  async findPullRequest(
    installationId: number,
    owner: string,
    repo: string,
    head: string,
  ): Promise<{ number: number; url: string } | null> {
    const o = await this.inst(installationId);
    const { data } = await o.request("GET /repos/{owner}/{repo}/pulls", {
      owner,
      repo,
      head: `${owner}:${head}`,
      state: "open",
    });
    const pr = data[0];
    return pr ? { number: pr.number, url: pr.html_url } : null;
  }

  async updatePullRequestBody(
    installationId: number,
    owner: string,
    repo: string,
    number: number,
    body: string,
  ): Promise<void> {
    const o = await this.inst(installationId);
    await o.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", { owner, repo, pull_number: number, body });
  }

  async createCheckRun(
    installationId: number,
    owner: string,
    repo: string,
    headSha: string,
    detailsUrl: string,
    output: CheckRunOutput,
  ): Promise<number> {
    const o = await this.inst(installationId);
    const { data } = await o.request("POST /repos/{owner}/{repo}/check-runs", {
      owner,
      repo,
      name: "Inspect",
      head_sha: headSha,
      status: "in_progress",
      details_url: detailsUrl,
      external_id: detailsUrl,
      output,
      actions: [STOP_ACTION],
    });
    return Number(data.id);
  }

  async updateCheckRun(
    installationId: number,
    owner: string,
    repo: string,
    checkRunId: number,
    update: { output: CheckRunOutput; conclusion?: CheckConclusion },
  ): Promise<void> {
    const o = await this.inst(installationId);
    const done = update.conclusion
      ? {
          status: "completed" as const,
          conclusion: update.conclusion,
          completed_at: new Date().toISOString(),
          actions: [],
        }
      : { status: "in_progress" as const, actions: [STOP_ACTION] };
    await o.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
      owner,
      repo,
      check_run_id: checkRunId,
      output: update.output,
      ...done,
    });
  }
}

/** The check run's button: GitHub sends check_run.requested_action with this identifier. */
const STOP_ACTION = { label: "Stop", description: "Stop the Inspect session", identifier: "stop" };

export interface WorkflowRunInfo {
  id: number;
  /** The run's title: the workflow's `run-name` when it sets one (API `display_title`). */
  title: string | null;
  /** The workflow file, e.g. `.github/workflows/inspect-runner.yml` (some hosts append `@ref`). */
  path: string;
  event: string;
  createdAt: Date;
  /** Who started the run (a dispatch made as the app: `<slug>[bot]`). */
  triggeringActor: string | null;
}

export interface NewPullRequest {
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

/**
 * First-run setup: trade the code GitHub's App-manifest flow returns for the new App's
 * credentials. No App exists yet, so the call is unauthenticated.
 */
export async function convertManifest(
  apiUrl: string,
  code: string,
  OctokitClass: typeof ProbotOctokit = withRequestTimeout(ProbotOctokit, GITHUB_REQUEST_TIMEOUT_MS),
) {
  const octokit = new OctokitClass({ baseUrl: apiUrl });
  const { data } = await octokit.request("POST /app-manifests/{code}/conversions", { code });
  return data;
}
