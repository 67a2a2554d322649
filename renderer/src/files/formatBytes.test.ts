import { describe, expect, it } from 'vitest';
import { formatBytes, formatProgress } from './formatBytes.js';

describe('formatBytes', () => {
  it('counts bytes, then KB, MB, GB in steps of 1024, one decimal below ten', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MB');
    expect(formatBytes(3.45 * 1024 * 1024)).toBe('3.5 MB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4.0 GB');
    expect(formatBytes(5 * 1024 ** 4)).toBe('5.0 TB');
  });

  it('never shows 1024 of a unit: it moves to the next one', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MB');
    expect(formatBytes(1024 ** 3 - 1)).toBe('1.0 GB');
  });

  it('says "unknown size" for what a sender could put in a notice that is no size', () => {
    expect(formatBytes(-1)).toBe('unknown size');
    expect(formatBytes(Number.NaN)).toBe('unknown size');
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('unknown size');
  });

  it('shows progress as done of total, never past the total', () => {
    expect(formatProgress(512 * 1024, 20 * 1024 * 1024)).toBe('512 KB of 20 MB');
    expect(formatProgress(30, 20)).toBe('20 B of 20 B');
  });
});
