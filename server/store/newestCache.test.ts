import { describe, expect, it } from 'vitest';
import type { DropQuery, MessageStamp } from './dropStore.js';
import { createNewestCache } from './newestCache.js';

const drop = 'A'.repeat(43);
const all = (notBeforeMs = 0): DropQuery => ({ dropId: drop, since: { kind: 'all' }, notBeforeMs });
const after = (position: number): DropQuery => ({ dropId: drop, since: { kind: 'afterPosition', position }, notBeforeMs: 0 });

describe('createNewestCache', () => {
  it('knows nothing about a drop it has not seen', () => {
    expect(createNewestCache().answer(all())).toBeUndefined();
  });

  it('answers polls from the newest appended message', () => {
    const cache = createNewestCache();
    cache.appended(drop, { position: 5, receivedAtMs: 1000 });
    expect(cache.answer(all())).toEqual({ position: 5, receivedAtMs: 1000 });
    expect(cache.answer(after(4))).toEqual({ position: 5, receivedAtMs: 1000 });
    expect(cache.answer(after(5))).toBeNull();
    expect(cache.answer(after(99))).toBeNull();
  });

  it('remembers empty drops until something is appended', () => {
    const cache = createNewestCache();
    cache.learn(drop, null);
    expect(cache.answer(after(3))).toBeNull();
    cache.appended(drop, { position: 7, receivedAtMs: 1 });
    expect(cache.answer(after(3))).toEqual({ position: 7, receivedAtMs: 1 });
  });

  it('defers to the database for time filters, an expired newest message, and after deletes', () => {
    const cache = createNewestCache();
    cache.appended(drop, { position: 5, receivedAtMs: 1000 });
    expect(cache.answer({ dropId: drop, since: { kind: 'receivedFrom', minReceivedAtMs: 0 }, notBeforeMs: 0 })).toBeUndefined();
    expect(cache.answer(all(2000))).toBeUndefined();
    cache.clear();
    expect(cache.answer(all())).toBeUndefined();
  });
});

describe('createNewestCache with tickets (a database others write to)', () => {
  it('drops an answer read before a commit it heard of since', () => {
    const cache = createNewestCache();
    const ticket = cache.ticket();
    cache.appended(drop, { position: 9, receivedAtMs: 2 });
    cache.learn(drop, { position: 5, receivedAtMs: 1 }, ticket);
    expect(cache.answer(after(5))).toEqual({ position: 9, receivedAtMs: 2 });
  });

  it('drops an answer read before everything was forgotten', () => {
    const cache = createNewestCache();
    const ticket = cache.ticket();
    cache.clear();
    cache.learn(drop, null, ticket);
    expect(cache.answer(all())).toBeUndefined();
  });

  it('learns an answer when nothing was heard of the drop since its ticket', () => {
    const cache = createNewestCache();
    const ticket = cache.ticket();
    cache.appended('B'.repeat(43), { position: 3, receivedAtMs: 1 });
    cache.learn(drop, { position: 5, receivedAtMs: 1 }, ticket);
    expect(cache.answer(after(5))).toBeNull();
  });

  it('keeps the highest position when commits are heard out of order', () => {
    const cache = createNewestCache();
    cache.appended(drop, { position: 9, receivedAtMs: 2 });
    cache.appended(drop, { position: 7, receivedAtMs: 1 });
    expect(cache.answer(all())).toEqual({ position: 9, receivedAtMs: 2 });
  });

  it('answers nothing while suspended, and nothing learned before it resumed', () => {
    const cache = createNewestCache();
    cache.appended(drop, { position: 5, receivedAtMs: 1 });
    const ticket = cache.ticket();
    cache.suspend();
    expect(cache.isSuspended()).toBe(true);
    expect(cache.answer(after(5))).toBeUndefined();
    cache.appended(drop, { position: 6, receivedAtMs: 1 });
    cache.learn(drop, null);
    expect(cache.answer(after(5))).toBeUndefined();
    cache.resume();
    expect(cache.isSuspended()).toBe(false);
    cache.learn(drop, { position: 5, receivedAtMs: 1 }, ticket);
    expect(cache.answer(after(5))).toBeUndefined();
    cache.learn(drop, { position: 6, receivedAtMs: 1 }, cache.ticket());
    expect(cache.answer(after(6))).toBeNull();
  });

  it('keeps no message body', () => {
    const cache = createNewestCache();
    cache.appended(drop, { position: 5, receivedAtMs: 1, body: Buffer.alloc(10) } as MessageStamp);
    expect(cache.answer(all())).toEqual({ position: 5, receivedAtMs: 1 });
  });
});
