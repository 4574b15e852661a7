/**
 * The OpenCode config passed as OPENCODE_CONFIG_CONTENT: our offline-safe base, the
 * operator's INSPECT_OPENCODE_CONFIG (providers, default model, MCP servers) merged over it,
 * and the session's model choice on top. The repository's own opencode.json and AGENTS.md
 * are read by OpenCode from the checkout as usual.
 */

type Json = Record<string, unknown>;

/** What every sandbox runs with unless the operator says otherwise. */
export const BASE_CONFIG: Json = {
  $schema: "https://opencode.ai/config.json",
  autoupdate: false,
  share: "disabled",
  // OpenCode's own undo snapshots copy the worktree into a shadow git repository on the first
  // step of a session (seconds on a large checkout); Inspect commits with git itself.
  snapshot: false,
  permission: {
    // Nobody is there to answer a question: the agent must decide or say so in its reply.
    question: "deny",
    // Outside the checkout OpenCode asks; the sandbox answers by policy (reject).
    external_directory: "ask",
  },
};

function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else (arrays, scalars) in `over` replaces `base`. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** `provider/model` → the SDK's `{providerID, modelID}`; model ids may contain slashes. */
export function parseModel(model: string | null | undefined): { providerID: string; modelID: string } | undefined {
  if (!model) return undefined;
  const slash = model.indexOf("/");
  if (slash <= 0 || slash === model.length - 1) return undefined;
  return { providerID: model.slice(0, slash), modelID: model.slice(slash + 1) };
}

export function buildOpencodeConfig(operator: Json, sessionModel: string | null): Json {
  const merged = deepMerge(BASE_CONFIG, operator);
  if (sessionModel) merged.model = sessionModel;
  return merged;
}
