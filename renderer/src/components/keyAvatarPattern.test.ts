import { describe, expect, it } from 'vitest';
import { keyAvatarPattern } from './keyAvatarPattern.js';

describe('keyAvatarPattern', () => {
  it('is the same for one key, mirrored, and differs between keys', () => {
    const key = '3f9a' + '17c2e5'.padEnd(60, '0');
    const pattern = keyAvatarPattern(key);
    expect(keyAvatarPattern(key)).toEqual(pattern);
    expect(pattern.cells).toHaveLength(25);
    for (let row = 0; row < 5; row++) {
      const r = pattern.cells.slice(row * 5, row * 5 + 5);
      expect(r).toEqual([...r].reverse());
    }
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const other = keyAvatarPattern(i.toString(16).padStart(4, '0').repeat(16));
      seen.add(JSON.stringify(other));
    }
    expect(seen.size).toBeGreaterThan(190);
  });
});
