/** PostgreSQL's unique_violation, through any driver (drizzle wraps the driver's error as `cause`). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (
    let e = error as { code?: string; constraint?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (e.code === "23505")
      return constraint === undefined || e.constraint === undefined || e.constraint === constraint;
  }
  return false;
}
