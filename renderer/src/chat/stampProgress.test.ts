import { beforeEach, describe, expect, it } from 'vitest';
import { stampPercent, useStampProgress } from './stampProgress.js';

beforeEach(() => useStampProgress.setState(useStampProgress.getInitialState(), true));

describe('stampPercent', () => {
  it('is the whole percent of the expected hashes, 99 at most, 0 for nonsense', () => {
    expect(stampPercent({ hashes: 0, expected: 4096 })).toBe(0);
    expect(stampPercent({ hashes: 2047, expected: 4096 })).toBe(49);
    expect(stampPercent({ hashes: 4096, expected: 4096 })).toBe(99);
    expect(stampPercent({ hashes: 3 * 4096, expected: 4096 })).toBe(99);
    expect(stampPercent({ hashes: 10, expected: 0 })).toBe(0);
    expect(stampPercent({ hashes: Number.NaN, expected: 4096 })).toBe(0);
  });
});

describe('stamp progress store', () => {
  it('keeps the latest progress per message until a status ends the stamp', () => {
    const store = useStampProgress.getState();
    store.report({ localId: 'a', hashes: 1, expected: 8 });
    store.report({ localId: 'a', hashes: 5, expected: 8 });
    store.report({ localId: 'b', hashes: 2, expected: 8 });
    expect(useStampProgress.getState().byLocalId).toEqual({ a: { hashes: 5, expected: 8 }, b: { hashes: 2, expected: 8 } });

    // The stamp's own announcement and copies going out leave it be.
    store.applyStatus({ localId: 'a', status: 'sending', reason: { kind: 'rateLimited', detail: '', retryAt: null } });
    store.applyStatus({ localId: 'a', status: 'sending', copies: { posted: 1, wanted: 2 } });
    expect(useStampProgress.getState().byLocalId.a).toEqual({ hashes: 5, expected: 8 });

    store.applyStatus({ localId: 'a', status: 'sending', reason: { kind: 'rateLimited', detail: '', retryAt: 5 } });
    store.applyStatus({ localId: 'b', status: 'failed', error: 'x' });
    expect(useStampProgress.getState().byLocalId).toEqual({});
  });
});
