import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, jitteredInterval } from '../../electron/core/inbox/backoff.js';
import { DropWatcher } from '../../electron/core/inbox/dropWatcher.js';
import { waitFor } from './helpers/waitFor.js';

describe('backoff', () => {
  it('doubles from the base, caps at the maximum and jitters within +-20%', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 40].map((n) => backoffDelay(policy, n, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(policy, 2, () => 0)).toBe(160);
    expect(backoffDelay(policy, 2, () => 0.999999)).toBe(240);
    expect(jitteredInterval(1000, () => 0)).toBe(1000);
    expect(jitteredInterval(1000, () => 0.999999)).toBe(1250);
  });
});

describe('drop watcher', () => {
  const watchers: DropWatcher[] = [];
  afterEach(async () => {
    await Promise.all(watchers.splice(0).map((w) => w.stop()));
  });

  function watcher(poll: () => Promise<void>, results: boolean[] = []) {
    const w = new DropWatcher({
      dropUrl: 'http://127.0.0.1:9/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      poll,
      intervalMs: () => 3_600_000,
      usePush: false,
      pushConnection: () => ({}),
      backoff: { baseMs: 5, maxMs: 20 },
      onResult: (_url, result) => void results.push(result.ok),
      onPushChange: () => undefined,
    });
    watchers.push(w);
    return w;
  }

  it('never overlaps polls and turns hints during a poll into exactly one more poll', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    let release: () => void = () => undefined;
    const w = watcher(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => (release = resolve));
      running--;
    });
    w.start();
    await waitFor(() => calls === 1, 'first poll');
    w.pollNow();
    w.pollNow();
    w.pollNow();
    release();
    await waitFor(() => calls === 2, 'one more poll');
    release();
    await w.idle();
    expect(calls).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('retries with backoff after failures and recovers', async () => {
    let calls = 0;
    const results: boolean[] = [];
    const w = watcher(async () => {
      calls++;
      if (calls <= 3) throw new Error('network down');
    }, results);
    w.start();
    await waitFor(() => results.includes(true), 'recovery');
    expect(results).toEqual([false, false, false, true]);
  });

  it('does not poll while paused', async () => {
    let calls = 0;
    const w = watcher(async () => void calls++);
    w.start();
    await waitFor(() => calls === 1, 'first poll');
    await w.idle();
    w.setPaused(true);
    w.pollNow();
    await w.idle();
    expect(calls).toBe(1);
    w.setPaused(false);
    await waitFor(() => calls === 2, 'poll after resume');
  });
});
