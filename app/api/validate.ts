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

/**
 * The body as text, at most `maxBytes`: a larger `Content-Length` is refused before anything is
 * read, and a body that streams past the limit is cut off there — never buffered whole.
 */
export async function limitedText(c: Context, maxBytes: number): Promise<string> {
  const tooLarge = () => apiError(413, `body larger than ${maxBytes} bytes`);
  const declared = Number(c.req.header("content-length") ?? "0");
  const body = c.req.raw.body;
  if (declared > maxBytes) {
    await body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Parse and validate a JSON body; anything else is a 400 and nothing happens. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S, maxBytes = 2_000_000): Promise<z.infer<S>> {
  const text = await limitedText(c, maxBytes);
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
