/** Retry timing shared by the poller and the sender: exponential backoff with jitter, capped. */
export interface BackoffPolicy {
  /** First retry delay. */
  baseMs: number;
  /** Longest delay between two attempts. */
  maxMs: number;
}

/** At most a minute between attempts: a messenger should notice within a minute that the network is back. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/** Delay before retry number `failures` (1 = first retry), with +-20% jitter so clients do not align. */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(30, failures - 1)));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** A poll interval with up to +25% jitter, so polls do not reveal a fixed schedule. */
export function jitteredInterval(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 + 0.25 * random()));
}
