/**
 * A retry budget per destination server: a token bucket of `burst` retries that refills one token
 * every `refillMs`. First attempts are free; retries beyond the budget are not made, so no server,
 * however it fails, can turn a few messages into a flood of requests.
 */
export interface RetryBudgetPolicy {
  burst: number;
  refillMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetPolicy = { burst: 20, refillMs: 6000 };

export class RetryBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly policy: RetryBudgetPolicy = DEFAULT_RETRY_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one retry for `server`; false when its budget is used up for now. */
  take(server: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(server) ?? { tokens: this.policy.burst, at: now };
    const refilled = Math.min(this.policy.burst, bucket.tokens + (now - bucket.at) / this.policy.refillMs);
    if (refilled < 1) {
      this.buckets.set(server, { tokens: refilled, at: now });
      return false;
    }
    this.buckets.set(server, { tokens: refilled - 1, at: now });
    this.prune(now);
    return true;
  }

  /** Full buckets carry no information: forget them so the map stays small. */
  private prune(now: number): void {
    if (this.buckets.size < 256) return;
    for (const [server, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) / this.policy.refillMs >= this.policy.burst) this.buckets.delete(server);
    }
  }
}
