/**
 * Operator OpenCode config may reference secrets as `{env:NAME}` (OpenCode's own
 * syntax). The app resolves them from its environment when a runner claims a
 * session, so provider keys live only with the app and travel only in the
 * claim response — never in workflow inputs or the runner repository.
 */
export function resolveEnvPlaceholders<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === "string") {
    return value.replace(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? "") as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveEnvPlaceholders(v, env)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnvPlaceholders(v, env)])) as T;
  }
  return value;
}
