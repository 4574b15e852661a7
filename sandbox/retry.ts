/** Bounded retries for transient failures (network blips on fetch/push, a busy control plane). */

export interface RetryOptions {
  attempts: number;
  /** Delay before retry n (1-based), in ms. */
  delayMs: (attempt: number) => number;
  /** Only errors this returns true for are retried; the rest fail at once. */
  retryable: (error: unknown) => boolean;
  signal?: AbortSignal;
  /**
   * Told of each failed attempt that will be retried. Default: one line on stderr (the runner's
   * output: the local dispatcher's log, the Actions job log), so a retry is never silent. The
   * error's message is printed as is: callers retry only errors whose messages were redacted
   * (GitError) or carry no credential (the runner API's).
   */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      lastError = error;
      if (attempt === options.attempts || !options.retryable(error) || options.signal?.aborted) throw error;
      const delay = options.delayMs(attempt);
      (options.onRetry ?? logRetries(options.attempts))(error, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  throw lastError;
}

/** One line per retry, to `log` (e.g. the runtime's redacting log) or stderr. */
export const logRetries =
  (attempts: number, log: (line: string) => void = (line) => void process.stderr.write(`[sandbox] ${line}\n`)) =>
  (error: unknown, attempt: number, delayMs: number) => {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " | ").slice(0, 500);
    log(`attempt ${attempt} of ${attempts} failed, retrying in ${delayMs} ms: ${message}`);
  };

export const backoff =
  (baseMs: number, maxMs = 10_000) =>
  (attempt: number) =>
    Math.min(maxMs, baseMs * 2 ** (attempt - 1));
