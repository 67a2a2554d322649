import { describe, expect, it } from 'vitest';
import { lookalikeOf, nameSkeleton } from './lookalikeNames.js';

const ALICE = { name: 'Alice', publicKey: 'a'.repeat(64), kind: 'contact' as const };
const ME = { name: 'Kim Park', publicKey: 'c'.repeat(64), kind: 'identity' as const };

describe('look-alike names', () => {
  it('fold case, width, accents, look-alike letters of other scripts and invisible characters', () => {
    for (const spelling of ['alice', 'ALICE', '\u0410lice', 'Ａｌｉｃｅ', 'Alíce', 'Al\u200Bice', ' Alice\u202E ']) {
      expect(nameSkeleton(spelling), spelling).toBe('alice');
    }
    expect(nameSkeleton('Alicia')).not.toBe('alice');
  });

  it('name the contact or identity a stranger looks like, unless the key is the same', () => {
    const stranger = 'e'.repeat(64);
    expect(lookalikeOf('\u0410LICE', stranger, [ALICE, ME])).toEqual(ALICE);
    expect(lookalikeOf('kim  park', stranger, [ALICE, ME])).toEqual(ME);
    expect(lookalikeOf('Alice', ALICE.publicKey, [ALICE, ME])).toBeNull();
    expect(lookalikeOf('Bob', stranger, [ALICE, ME])).toBeNull();
    expect(lookalikeOf('\u200B', stranger, [{ ...ALICE, name: '' }])).toBeNull();
  });
});
