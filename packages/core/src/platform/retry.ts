/** How often and how patiently a caller retries what a service did not take (throttling, partition limits). */
export interface RetryPolicy {
  /** Calls per chunk, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Six calls over at most ~4 s: rides out a throttling burst well inside a 60 s function timeout. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 2_000 };

/**
 * Full-jitter backoff before retry number `attempt + 1` (0-based): a uniform delay up to
 * min(max, base * 2^attempt), so throttled callers spread out. `random` is injectable for tests.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
}
