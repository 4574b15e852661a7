/**
 * Operator OpenCode config may reference secrets as `{env:NAME}` (OpenCode's own
 * syntax). The app resolves them from its environment when a runner claims a
 * session, so provider keys live only with the app and travel only in the
 * claim response — never in workflow inputs or the runner repository.
 *
 * A name the environment does not have becomes "" — never the placeholder, which OpenCode could
 * resolve from the runner's environment instead — and is listed in `missing` so the
 * caller can warn: a provider key that silently went empty otherwise shows up only as a
 * confusing authentication error from the model provider.
 */
export interface ResolvedEnv<T> {
  value: T;
  /** Names referenced but unset, each once, in order of first use. */
  missing: string[];
}

const PLACEHOLDER = /\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function resolveEnvPlaceholders<T>(value: T, env: Record<string, string | undefined>): ResolvedEnv<T> {
  const missing = new Set<string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      return v.replace(PLACEHOLDER, (_m, name: string) => {
        const found = env[name];
        if (found === undefined) missing.add(name);
        return found ?? "";
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return { value: walk(value) as T, missing: [...missing] };
}
