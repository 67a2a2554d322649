import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHttpDate, parseHttpDate } from './httpDate.js';

describe('HTTP dates', () => {
  it('formats IMF-fixdate as RFC 7231 shows it', () => {
    expect(formatHttpDate(new Date(Date.UTC(1994, 10, 6, 8, 49, 37)))).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(formatHttpDate(new Date(0))).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
  });
  it('parses all three forms RFC 7231 requires', () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')?.getTime()).toBe(expected);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')?.getTime()).toBe(expected);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')?.getTime()).toBe(expected);
  });
  it('round-trips at 1-second resolution', () => {
    fc.assert(fc.property(fc.date({ min: new Date(Date.UTC(1970, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), (date) => {
      const parsed = parseHttpDate(formatHttpDate(date));
      expect(parsed?.getTime()).toBe(Math.floor(date.getTime() / 1000) * 1000);
    }));
  });
  it('returns null for anything else, never throws', () => {
    for (const bad of ['', 'yesterday', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT', 'Sun, 6 Nov 1994 08:49:37 GMT', '1451606400.123456', 'x'.repeat(10_000)]) {
      expect(parseHttpDate(bad)).toBeNull();
    }
    fc.assert(fc.property(fc.string(), (text) => {
      const parsed = parseHttpDate(text);
      expect(parsed === null || Number.isFinite(parsed.getTime())).toBe(true);
    }));
    expect(parseHttpDate(42 as unknown as string)).toBeNull();
  });
});
