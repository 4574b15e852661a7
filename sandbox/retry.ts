/** Bounded retries for transient failures (network blips on fetch/push, a busy control plane). */

export interface RetryOptions {
  attempts: number;
  /** Delay before retry n (1-based), in ms. */
  delayMs: (attempt: number) => number;
  /** Only errors this returns true for are retried; the rest fail at once. */
  retryable: (error: unknown) => boolean;
  signal?: AbortSignal;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      lastError = error;
      if (attempt === options.attempts || !options.retryable(error) || options.signal?.aborted) throw error;
      await new Promise((r) => setTimeout(r, options.delayMs(attempt)));
    }
  }
  throw lastError;
}

export const backoff = (baseMs: number, maxMs = 10_000) => (attempt: number) => Math.min(maxMs, baseMs * 2 ** (attempt - 1));
