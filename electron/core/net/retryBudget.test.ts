import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retryBudget.js';

describe('RetryBudget', () => {
  it('allows a burst of retries per server, then one per refill period', () => {
    let now = 0;
    const budget = new RetryBudget({ burst: 3, refillMs: 1000 }, () => now);
    expect([1, 2, 3, 4].map(() => budget.take('a'))).toEqual([true, true, true, false]);
    expect(budget.take('b')).toBe(true);
    now = 999;
    expect(budget.take('a')).toBe(false);
    // A refused retry costs nothing: by now two tokens have grown back.
    now = 2000;
    expect([budget.take('a'), budget.take('a'), budget.take('a')]).toEqual([true, true, false]);
    now = 100_000;
    expect([1, 2, 3, 4].map(() => budget.take('a'))).toEqual([true, true, true, false]);
  });

  it('forgets servers whose budget is full again', () => {
    let now = 0;
    const budget = new RetryBudget({ burst: 2, refillMs: 10 }, () => now);
    for (let i = 0; i < 1000; i++) budget.take(`server-${i}`);
    now = 1000;
    budget.take('last');
    expect((budget as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(1);
  });
});
