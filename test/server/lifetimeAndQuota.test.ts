/** Expiry after the TTL and the global quota, driven by a fake clock. */
import { afterEach, describe, expect, it } from 'vitest';
import { deposit, fetchDrop, newDropId } from './dropClient.js';
import { createFakeClock, metricsText, metricValue, serversPerTest } from './inProcessServer.js';

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
    expect(await s.sweepNow()).toEqual({ expired: 1, overQuota: 0 });
    expect(metricValue(await metricsText(s.url), 'deaddrop_stored_bytes')).toBe(1);

    clock.advance(23 * HOUR);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(204);
    expect((await fetchDrop(url)).status).toBe(204);
    expect(await s.sweepNow()).toEqual({ expired: 1, overQuota: 0 });
  });
});

describe('quota', () => {
  it('deletes the globally oldest messages when the stored bytes exceed the quota', async () => {
    const s = await server({ quotaBytes: 300 });
    const [a, b] = [`${s.url}/${newDropId()}`, `${s.url}/${newDropId()}`];
    await deposit(a, new Uint8Array(100).fill(1));
    await deposit(b, new Uint8Array(100).fill(2));
    await deposit(a, new Uint8Array(100).fill(3));
    await deposit(b, new Uint8Array(100).fill(4));
    await deposit(a, new Uint8Array(100).fill(5));
    await expect.poll(async () => metricValue(await metricsText(s.url), 'deaddrop_stored_bytes')).toBe(300);
    expect((await fetchDrop(a)).parts.map((p) => p.body[0])).toEqual([3, 5]);
    expect((await fetchDrop(b)).parts.map((p) => p.body[0])).toEqual([4]);
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
