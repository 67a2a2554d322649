import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_PASSPHRASE_LENGTH, estimatePassphrase, newPassphraseProblem } from './passphrasePolicy.js';

describe('new passphrases', () => {
  it('are refused below the minimum length with a sentence naming it', () => {
    expect(newPassphraseProblem('abc')).toBe(`Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`);
    expect(newPassphraseProblem('a'.repeat(MIN_PASSPHRASE_LENGTH - 1))).not.toBeNull();
    expect(newPassphraseProblem('a'.repeat(MIN_PASSPHRASE_LENGTH))).toBeNull();
  });
});

describe('strength estimate', () => {
  it('calls short passphrases too short, whatever they hold', () => {
    expect(estimatePassphrase('Xk9#mQ2').strength).toBe('too short');
  });

  it('calls common passwords, their variants, repeats and keyboard runs weak', () => {
    for (const weak of ['password', 'Password1', 'PASSWORD!!', 'iloveyou2', '12345678', 'abcdefghij', 'qwertyuiop', 'zzzzzzzzzzzz', '87654321', 'hello world']) {
      expect(estimatePassphrase(weak).strength, weak).toBe('weak');
    }
  });

  it('rates several unrelated words and long random strings higher than one word', () => {
    expect(estimatePassphrase('correct horse battery staple').strength).toBe('fair');
    expect(estimatePassphrase('correct horse battery staple orbit lantern').strength).toBe('strong');
    expect(estimatePassphrase('p8#Lq2!zR7vw').strength).toBe('strong');
    expect(estimatePassphrase('sunflowers').strength).toBe('weak');
  });

  it('words repeated add little', () => {
    expect(estimatePassphrase('orbit orbit orbit orbit orbit').bits).toBeLessThan(estimatePassphrase('orbit lantern velvet cactus').bits);
  });

  it('answers every string with a hint and never throws', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      const estimate = estimatePassphrase(text);
      expect(estimate.hint.length).toBeGreaterThan(0);
      expect(Number.isFinite(estimate.bits)).toBe(true);
    }));
  });
});
