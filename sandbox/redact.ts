/**
 * Secrets never reach a log line or an event. The git token can appear raw, inside a URL
 * (`x-access-token:TOKEN@`), or base64-encoded in an Authorization header; all three forms
 * are replaced.
 */

export const REDACTED = "***";

export type Redactor = (text: string) => string;

function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret, encodeURIComponent(secret)]);
  forms.add(Buffer.from(`x-access-token:${secret}`).toString("base64"));
  forms.add(Buffer.from(secret).toString("base64"));
  return [...forms].filter((f) => f.length >= 6);
}

export function createRedactor(secrets: Array<string | null | undefined>): Redactor {
  const forms = secrets
    .filter((s): s is string => typeof s === "string" && s.length >= 6)
    .flatMap(secretForms)
    // Longest first, so a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  };
}

/** Apply a redactor to every string inside a JSON-like value. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, redact);
    return out as T;
  }
  return value;
}

const SECRET_KEY = /key|token|secret|password|authorization|credential/i;

/**
 * Secret-looking values in the operator's OpenCode config (provider API keys, MCP headers):
 * OpenCode and its tools can see them, so at least no event or log line may show them.
 */
export function configSecrets(value: unknown, underSecretKey = false): string[] {
  if (typeof value === "string") {
    const text = value.replace(/^(Bearer|Basic|token)\s+/i, "");
    return underSecretKey && text.length >= 8 ? [text] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v) => configSecrets(v, underSecretKey));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) =>
      configSecrets(v, underSecretKey || SECRET_KEY.test(k) || k === "headers" || k === "env"),
    );
  }
  return [];
}
