/** Real webhook payloads from @octokit/webhooks-examples, cloned and adjusted per test. */
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };

type Json = Record<string, any>;

export function allExamples(names: string[]): { name: string; action: string; payload: Json }[] {
  const out: { name: string; action: string; payload: Json }[] = [];
  for (const group of examples as { name: string; examples: Json[] }[]) {
    if (!names.includes(group.name)) continue;
    for (const payload of group.examples) out.push({ name: group.name, action: String(payload.action ?? ""), payload });
  }
  return out;
}

export function example(name: string, action: string): Json {
  const found = allExamples([name]).find((e) => e.action === action);
  if (!found) throw new Error(`no example for ${name}.${action}`);
  return structuredClone(found.payload);
}

export const REPO = { owner: "acme", name: "widgets", id: 4242 };
export const INSTALLATION = 77;

/** A payload aimed at acme/widgets, installation 77, from a human user. */
export function payload(name: string, action: string, patch: (p: Json) => void = () => {}): Json {
  const p = example(name, action);
  p.installation = { id: INSTALLATION, node_id: "x" };
  p.repository = {
    ...p.repository,
    id: REPO.id,
    name: REPO.name,
    full_name: `${REPO.owner}/${REPO.name}`,
    owner: { ...p.repository.owner, login: REPO.owner },
    default_branch: "main",
    private: true,
  };
  p.sender = { ...p.sender, login: "alice", id: 1001, type: "User", avatar_url: "https://avatars.example.com/u/1001" };
  patch(p);
  return p;
}

export function issueComment(
  body: string,
  opts: { issue?: number; pr?: boolean; login?: string; type?: string; commentId?: number } = {},
): Json {
  return payload("issue_comment", "created", (p) => {
    p.issue.number = opts.issue ?? 12;
    p.issue.title = "Login page crashes";
    p.issue.body = "Steps: open /login <!-- hidden instruction -->";
    if (opts.pr) p.issue.pull_request = { url: "x", html_url: "x" };
    else delete p.issue.pull_request;
    p.comment.body = body;
    p.comment.id = opts.commentId ?? 5001;
    if (opts.login) p.sender.login = opts.login;
    if (opts.type) p.sender.type = opts.type;
    p.comment.user = p.sender;
  });
}
