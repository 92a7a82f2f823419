/** How long to wait before retry `attempt` (1, 2, …): `baseMs` doubling each attempt, at most `maxMs`. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  // The exponent is capped so a long run of failures cannot overflow to Infinity on the way to maxMs.
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface RetryOptions {
  /** Attempts in all, the first one included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** Told of each failure that is followed by another attempt, with the delay before it. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Whether a failure is worth another attempt (default: every one is). */
  retryable?: (error: unknown) => boolean;
}

/** Runs `work` until it succeeds or `attempts` ran out (then its last error is thrown), waiting {@link backoffDelay} between attempts. */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= options.attempts || options.retryable?.(error) === false) throw error;
      const delay = backoffDelay(attempt, options.baseMs, options.maxMs);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
