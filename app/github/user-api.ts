/**
 * Part of the GitHub gateway (gateway.ts): the calls sign-in makes as the person signing in,
 * against config.github (so GHE hosts work): the OAuth code exchange, the signed-in user, and
 * a repository's permissions as seen with the viewer's own token. Plain fetch (injectable in
 * tests): no app or installation is involved.
 */
import { z } from "zod";

export interface GitHubEndpoints {
  webUrl: string;
  apiUrl: string;
}

const headers = (token: string) => ({
  authorization: `Bearer ${token}`,
  accept: "application/vnd.github+json",
  "x-github-api-version": "2022-11-28",
  "user-agent": "inspect",
});

const TokenResponse = z.union([
  z.object({ access_token: z.string().min(1) }),
  z.object({ error: z.string(), error_description: z.string().optional() }),
]);

export class GitHubAuthError extends Error {
  override name = "GitHubAuthError";
}

export async function exchangeCode(
  gh: GitHubEndpoints,
  client: { clientId: string; clientSecret: string },
  code: string,
  redirectUri: string,
  fetchFn = fetch,
): Promise<string> {
  const res = await fetchFn(`${gh.webUrl}/login/oauth/access_token`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json", "user-agent": "inspect" },
    body: JSON.stringify({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code,
      redirect_uri: redirectUri,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = TokenResponse.safeParse(await res.json().catch(() => null));
  if (!res.ok || !body.success) throw new GitHubAuthError(`GitHub refused the sign-in code (HTTP ${res.status})`);
  if ("error" in body.data)
    throw new GitHubAuthError(`GitHub refused the sign-in code: ${body.data.error_description ?? body.data.error}`);
  return body.data.access_token;
}

const GitHubUser = z.object({
  login: z.string().min(1),
  id: z.number().int(),
  name: z.string().nullable().optional(),
  avatar_url: z.string().url().nullable().optional(),
});
export type GitHubUser = z.infer<typeof GitHubUser>;

export async function fetchUser(gh: GitHubEndpoints, token: string, fetchFn = fetch): Promise<GitHubUser> {
  const res = await fetchFn(`${gh.apiUrl}/user`, { headers: headers(token), signal: AbortSignal.timeout(10_000) });
  const body = GitHubUser.safeParse(await res.json().catch(() => null));
  if (!res.ok || !body.success) throw new GitHubAuthError(`could not read the signed-in user (HTTP ${res.status})`);
  return body.data;
}

const RepoPermissions = z.object({
  private: z.boolean().optional(),
  visibility: z.string().optional(),
  permissions: z
    .object({
      pull: z.boolean(),
      triage: z.boolean().optional(),
      push: z.boolean().optional(),
      maintain: z.boolean().optional(),
      admin: z.boolean().optional(),
    })
    .optional(),
});
export interface Permissions {
  pull: boolean;
  push: boolean;
  /**
   * Granted a role on the repository beyond reading it: triage, write, maintain or
   * admin. On a public repository everyone signed in has pull; this is what sets the
   * people its maintainers chose apart.
   */
  collaborator: boolean;
  /** Anyone may read it. Internal (enterprise-wide) repositories are not public. */
  public: boolean;
}

export const NO_PERMISSIONS: Permissions = { pull: false, push: false, collaborator: false, public: false };

/**
 * What this token may do on `owner/name`. 404/403/401 mean "nothing" (GitHub hides
 * private repositories as 404). Other failures throw: they say nothing about access.
 */
export async function fetchRepoPermissions(
  gh: GitHubEndpoints,
  token: string,
  fullName: string,
  fetchFn = fetch,
): Promise<Permissions> {
  const [owner, name] = fullName.split("/");
  const res = await fetchFn(`${gh.apiUrl}/repos/${encodeURIComponent(owner!)}/${encodeURIComponent(name!)}`, {
    headers: headers(token),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status === 404 || res.status === 403 || res.status === 401) {
    await res.arrayBuffer();
    return NO_PERMISSIONS;
  }
  if (!res.ok) throw new GitHubAuthError(`GitHub answered ${res.status} for ${fullName}`);
  const body = RepoPermissions.safeParse(await res.json());
  if (!body.success) return NO_PERMISSIONS;
  const perms = body.data.permissions;
  const push = Boolean(perms?.push || perms?.maintain || perms?.admin);
  // An answer that says neither way counts as public: the stricter rule applies.
  const isPublic = body.data.visibility !== undefined ? body.data.visibility === "public" : body.data.private !== true;
  return { pull: perms?.pull ?? false, push, collaborator: push || Boolean(perms?.triage), public: isPublic };
}
