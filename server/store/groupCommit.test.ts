import { describe, expect, it } from 'vitest';
import { createGroupCommitQueue } from './groupCommit.js';

describe('createGroupCommitQueue', () => {
  it('commits items submitted together in one batch, and later ones in the next', async () => {
    const batches: number[][] = [];
    const queue = createGroupCommitQueue<number, string>(async (items) => {
      batches.push(items);
      return items.map((n) => `ok ${n}`);
    }, 100);
    const first = [1, 2, 3].map((n) => queue.submit(n));
    expect(await Promise.all(first)).toEqual(['ok 1', 'ok 2', 'ok 3']);
    expect(await queue.submit(4)).toBe('ok 4');
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('splits at the batch limit and rejects only the batch that failed', async () => {
    const batches: number[][] = [];
    const queue = createGroupCommitQueue<number, number>((items) => {
      batches.push(items);
      if (items.includes(3)) throw new Error('disk full');
      return items;
    }, 2);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => queue.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    await queue.drain();
  });

  it('keeps up to maxInFlight batches with the writer and settles them in order', async () => {
    const started: number[][] = [];
    const finishers: (() => void)[] = [];
    const queue = createGroupCommitQueue<number, number>(
      (items) =>
        new Promise((resolve) => {
          started.push(items);
          finishers.push(() => resolve(items));
        }),
      100,
      2,
    );
    const settled: number[] = [];
    const track = (n: number) => queue.submit(n).then((r) => settled.push(r));
    const a = track(1);
    await expect.poll(() => started.length).toBe(1);
    const b = track(2);
    await expect.poll(() => started.length).toBe(2);
    const c = track(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([[1], [2]]);
    finishers[0]!();
    await a;
    await expect.poll(() => started.length).toBe(3);
    finishers[1]!();
    finishers[2]!();
    await Promise.all([b, c, queue.drain()]);
    expect(settled).toEqual([1, 2, 3]);
  });

  it('lets timers run while callers resubmit at once to a synchronous writer', async () => {
    const queue = createGroupCommitQueue<number, number>((items) => items, 10);
    let stop = false;
    let commits = 0;
    const caller = async (): Promise<void> => {
      while (!stop) {
        await queue.submit(1);
        commits++;
      }
    };
    const callers = [caller(), caller()];
    await new Promise((resolve) => setTimeout(resolve, 20));
    stop = true;
    await Promise.all(callers);
    expect(commits).toBeGreaterThan(0);
  });
});
