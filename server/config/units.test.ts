import { describe, expect, it } from 'vitest';
import { parseByteSize, parseDurationSeconds } from './units.js';

describe('parseDurationSeconds', () => {
  it.each([
    ['7d', 604_800],
    ['12h', 43_200],
    ['30m', 1800],
    ['45s', 45],
    ['3600', 3600],
    ['1w', 604_800],
    ['1.5h', 5400],
    [' 2D ', 172_800],
  ])('%s is %d seconds', (text, seconds) => expect(parseDurationSeconds(text)).toBe(seconds));

  it.each(['', 'd', '7 days', '-1h', '1e3', '7y', 'inf', '9'.repeat(30)])('refuses %j', (text) =>
    expect(parseDurationSeconds(text)).toBeNull(),
  );
});

describe('parseByteSize', () => {
  it.each([
    ['100MB', 100_000_000],
    ['2573', 2573],
    ['64KiB', 65_536],
    ['1.5GB', 1_500_000_000],
    ['2gib', 2 * 1024 ** 3],
    ['10k', 10_000],
  ])('%s is %d bytes', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['', 'MB', 'lots', '100 XB', '-5MB', '1e9'])('refuses %j', (text) => expect(parseByteSize(text)).toBeNull());
});
