import { describe, expect, it } from 'vitest';
import { GateClosedError, RequestGate } from './requestGate.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('RequestGate', () => {
  it('bounds requests per server and in total, and lets other servers past a full one', async () => {
    const gate = new RequestGate({ maxConnections: 3, maxPerServer: 2, maxQueuedPerServer: 10 });
    const slow = [await gate.acquire('tarpit'), await gate.acquire('tarpit')];
    let third = false;
    void gate.acquire('tarpit').then(() => (third = true));
    const other = await gate.acquire('friend');
    expect(gate.running('tarpit')).toBe(2);
    expect(gate.running()).toBe(3);
    let waitingFriend = false;
    void gate.acquire('friend').then(() => (waitingFriend = true));
    await tick();
    expect([third, waitingFriend]).toEqual([false, false]);
    other();
    await tick();
    // The freed slot goes to the friend: the tarpit is still at its own limit.
    expect([third, waitingFriend]).toEqual([false, true]);
    slow[0]!();
    await tick();
    expect(third).toBe(true);
    expect(gate.running('tarpit')).toBe(2);
  });

  it('refuses at once when a server has too many requests waiting, and on the deadline', async () => {
    const gate = new RequestGate({ maxConnections: 10, maxPerServer: 1, maxQueuedPerServer: 2 });
    const release = await gate.acquire('h');
    const deadline = new AbortController();
    const waiting = [gate.acquire('h', deadline.signal), gate.acquire('h')];
    await expect(gate.acquire('h')).rejects.toBeInstanceOf(GateClosedError);
    deadline.abort();
    await expect(waiting[0]).rejects.toThrow(/Waited too long/);
    release();
    const next = await waiting[1]!;
    next();
    next();
    expect(gate.running()).toBe(0);
  });
});
