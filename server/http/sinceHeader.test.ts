import { describe, expect, it } from 'vitest';
import { parseSince } from './sinceHeader.js';

describe('parseSince', () => {
  it('reads our position token', () => {
    expect(parseSince('42', undefined)).toEqual({ kind: 'afterPosition', position: 42 });
    expect(parseSince(' 7 ', undefined)).toEqual({ kind: 'afterPosition', position: 7 });
  });

  it('clamps a position beyond any issued one instead of losing precision', () => {
    expect(parseSince('99999999999999999999', undefined)).toEqual({ kind: 'afterPosition', position: Number.MAX_SAFE_INTEGER });
  });

  it("reads the original server's epoch token as strictly-newer-than, to the microsecond", () => {
    expect(parseSince('1451606400.123456', undefined)).toEqual({ kind: 'receivedFrom', minReceivedAtMs: 1_451_606_400_124 });
    expect(parseSince('1451606400.5', undefined)).toEqual({ kind: 'receivedFrom', minReceivedAtMs: 1_451_606_400_501 });
  });

  it('reads If-Modified-Since as "from the start of that second", so nothing of that second is lost', () => {
    expect(parseSince(undefined, 'Fri, 01 Jan 2016 00:00:00 GMT')).toEqual({ kind: 'receivedFrom', minReceivedAtMs: 1_451_606_400_000 });
  });

  it('ignores both headers at once, repeated headers and anything unparseable', () => {
    expect(parseSince('1', 'Fri, 01 Jan 2016 00:00:00 GMT')).toEqual({ kind: 'all' });
    expect(parseSince(['1', '2'], undefined)).toEqual({ kind: 'all' });
    for (const bad of ['', 'inf', '-1', '1e5', '0x1f', '1.2.3', '1, 2', '9'.repeat(21)]) {
      expect(parseSince(bad, undefined), bad).toEqual({ kind: 'all' });
    }
    expect(parseSince(undefined, 'yesterday')).toEqual({ kind: 'all' });
  });
});
