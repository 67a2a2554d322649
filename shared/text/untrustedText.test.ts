import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flattenUnsafe, revealUnsafe, UNSAFE_CHARACTER, withoutBidiControls } from './untrustedText.js';

describe('flattenUnsafe and withoutBidiControls', () => {
  it('make one plain line of text with nothing that reorders or hides', () => {
    expect(flattenUnsafe('  Alice\n(trusted)\u202E\tx  ')).toBe('Alice (trusted) x');
    expect(withoutBidiControls('a\u202Eb\u2066c')).toBe('abc');
  });
});

describe('revealUnsafe', () => {
  it('writes out line breaks, tabs, escape sequences and other controls', () => {
    expect(revealUnsafe('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(revealUnsafe('\x1b[2J\x1b]0;pwned\x07')).toBe('\\e[2J\\e]0;pwned\\x07');
    expect(revealUnsafe('\x9b31m \x7f \x00')).toBe('\\x9b31m \\x7f \\x00');
    expect(revealUnsafe('back\\slash')).toBe('back\\\\slash');
  });

  it('shows bidirectional controls, invisible marks and separators instead of obeying them', () => {
    expect(revealUnsafe('https://evil.example/\u202Emoc.knab')).toBe('https://evil.example/<U+202E>moc.knab');
    expect(revealUnsafe('a\u200Bb\u2066c\u2069\uFEFF')).toBe('a<U+200B>b<U+2066>c<U+2069><U+FEFF>');
    expect(revealUnsafe('one\u2028two\u2029')).toBe('one<U+2028>two<U+2029>');
  });

  it('leaves ordinary text of every script alone', () => {
    expect(revealUnsafe('Grüße, Алиса, 李, مرحبا, 🙂')).toBe('Grüße, Алиса, 李, مرحبا, 🙂');
  });

  it('never lets a control, format or separator character through', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(revealUnsafe(text)).not.toMatch(UNSAFE_CHARACTER);
        expect(flattenUnsafe(text)).not.toMatch(UNSAFE_CHARACTER);
      }),
      { seed: 10, numRuns: 500 },
    );
  });
});
