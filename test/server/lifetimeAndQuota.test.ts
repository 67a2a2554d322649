/** Expiry after the TTL and the global quota, driven by a fake clock. */
import { afterEach, describe, expect, it } from 'vitest';
import { deposit, fetchDrop, newDropId } from './dropClient.js';
import { createFakeClock, metricsText, metricValue, serversPerTest, WITHOUT_SPAM_PRESSURE } from './inProcessServer.js';

const { server } = serversPerTest(afterEach);

const HOUR = 3_600_000;

describe('TTL', () => {
  it('stops serving messages older than the TTL and the sweeper deletes them', async () => {
    const clock = createFakeClock();
    const s = await server({ clock, ttlSeconds: 24 * 3600 });
    const url = `${s.url}/${newDropId()}`;
    await deposit(url, Uint8Array.of(1));
    clock.advance(23 * HOUR);
    await deposit(url, Uint8Array.of(2));
    expect((await fetchDrop(url)).parts.map((p) => p.body[0])).toEqual([1, 2]);

    clock.advance(2 * HOUR);
    expect((await fetchDrop(url)).parts.map((p) => p.body[0])).toEqual([2]);
    expect(await s.sweepNow()).toEqual({ expired: 1, overQuota: 0, expiredBlobs: 0 });
    expect(metricValue(await metricsText(s.url), 'deaddrop_stored_bytes')).toBe(1);

    clock.advance(23 * HOUR);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(204);
    expect((await fetchDrop(url)).status).toBe(204);
    expect(await s.sweepNow()).toEqual({ expired: 1, overQuota: 0, expiredBlobs: 0 });
  });
});

describe('quota', () => {
  it('over the quota, the drop holding the most bytes loses its own oldest messages first', async () => {
    const s = await server({ quotaBytes: 300, ...WITHOUT_SPAM_PRESSURE });
    const [a, b] = [`${s.url}/${newDropId()}`, `${s.url}/${newDropId()}`];
    await deposit(b, new Uint8Array(100).fill(1));
    await deposit(a, new Uint8Array(100).fill(2));
    await deposit(a, new Uint8Array(100).fill(3));
    await deposit(a, new Uint8Array(100).fill(4));
    await expect.poll(async () => metricValue(await metricsText(s.url), 'deaddrop_stored_bytes')).toBe(300);
    // b's message is the oldest of all, yet a (the largest) pays.
    expect((await fetchDrop(a)).parts.map((p) => p.body[0])).toEqual([3, 4]);
    expect((await fetchDrop(b)).parts.map((p) => p.body[0])).toEqual([1]);
  });

  it('a flood of ten times the quota into one drop evicts nothing from the other drops', async () => {
    const quotaBytes = 200_000;
    const s = await server({ quotaBytes, ...WITHOUT_SPAM_PRESSURE });
    const others = Array.from({ length: 5 }, () => `${s.url}/${newDropId()}`);
    for (const [i, url] of others.entries()) await deposit(url, new Uint8Array(2149).fill(i));
    const flooded = `${s.url}/${newDropId()}`;
    const floodCount = Math.ceil((10 * quotaBytes) / 2573);
    for (let n = 0; n < floodCount; n += 40) {
      await Promise.all(Array.from({ length: Math.min(40, floodCount - n) }, () => deposit(flooded, new Uint8Array(2573))));
    }
    await s.sweepNow();
    for (const [i, url] of others.entries()) expect((await fetchDrop(url)).parts.map((p) => p.body[0])).toEqual([i]);
    const kept = (await fetchDrop(flooded)).parts.length;
    expect(kept).toBeGreaterThan(0);
    expect(kept * 2573 + others.length * 2149).toBeLessThanOrEqual(quotaBytes);
  });

  it('never reuses a position after the newest messages were deleted', async () => {
    const clock = createFakeClock();
    const s = await server({ clock, ttlSeconds: 3600 });
    const url = `${s.url}/${newDropId()}`;
    await deposit(url, Uint8Array.of(1));
    const cursor = (await fetchDrop(url)).latest!;
    clock.advance(2 * HOUR);
    await s.sweepNow();
    await deposit(url, Uint8Array.of(2));
    const next = await fetchDrop(url, { 'X-Qabel-New-Since': cursor });
    expect(next.parts.map((p) => p.body[0])).toEqual([2]);
  });
});
