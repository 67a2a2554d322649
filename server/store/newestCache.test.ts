import { describe, expect, it } from 'vitest';
import type { DropQuery } from './dropStore.js';
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
