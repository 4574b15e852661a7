import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";

/** A JSON 4xx that says what was wrong. */
export function apiError(
  status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 503,
  message: string,
  issues?: unknown[],
): HTTPException {
  return new HTTPException(status, {
    res: Response.json(issues ? { error: message, issues } : { error: message }, { status }),
  });
}

/** Parse and validate a JSON body; anything else is a 400 and nothing happens. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S, maxBytes = 2_000_000): Promise<z.infer<S>> {
  const text = await c.req.text();
  if (text.length > maxBytes) throw apiError(413, `body larger than ${maxBytes} bytes`);
  let raw: unknown;
  try {
    raw = text.length ? JSON.parse(text) : {};
  } catch {
    throw apiError(400, "body is not valid JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw apiError(
      400,
      `invalid body: ${issues
        .map((i) => `${i.path || "(root)"}: ${i.message}`)
        .slice(0, 3)
        .join("; ")}`,
      issues,
    );
  }
  return parsed.data;
}

export function bearer(c: Context): string | null {
  const h = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1]! : null;
}
