/** What a passphrase that protects keys must be, the same in the app, the CLI and backups. */

/** Shorter passphrases are refused wherever a new one is chosen. */
export const MIN_PASSPHRASE_LENGTH = 8;

/** Why a new passphrase is refused, in a sentence the user can act on; null when it is acceptable. */
export function newPassphraseProblem(passphrase: string): string | null {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) return `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`;
  return null;
}

export type PassphraseStrength = 'too short' | 'weak' | 'fair' | 'strong';

export interface PassphraseEstimate {
  strength: PassphraseStrength;
  /** A rough number of bits an attacker who knows how people choose passphrases must guess. */
  bits: number;
  /** One sentence for the user. */
  hint: string;
}

/**
 * Passwords so common that any guesser tries them first (each also stands for its capitalised and
 * digit-suffixed variants). The estimate counts such a passphrase as weak whatever its length.
 */
const COMMON = [
  'password', 'passwort', 'passphrase', 'qwertyuiop', 'qwertzuiop', 'azertyuiop', 'iloveyou', 'letmein', 'welcome',
  'sunshine', 'princess', 'football', 'baseball', 'dragon', 'monkey', 'master', 'shadow', 'superman', 'trustno1',
  'abc123', 'admin', 'deaddrop', 'secret', 'whatever', 'starwars', 'computer', 'internet', 'hello',
];
const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', '01234567890', 'qwertyuiopasdfghjklzxcvbnm', 'qwertzuiopasdfghjklyxcvbnm'];

/** Bits per word of a passphrase made of words: about what a 5,000-word vocabulary gives (diceware: 12.9). */
const BITS_PER_WORD = 12.3;

/**
 * A deliberately simple, conservative strength estimate (no dictionary download): the smaller of a
 * character-based guess (alphabet size per character, repeats and runs such as "abcd" or "1234"
 * counted as one) and, for passphrases made of words, a word-based guess. Common passwords and
 * their variants are weak. It guides the choice; it proves nothing about a passphrase.
 */
export function estimatePassphrase(passphrase: string): PassphraseEstimate {
  const chars = [...passphrase];
  if (newPassphraseProblem(passphrase) !== null) {
    return { strength: 'too short', bits: 0, hint: `Too short: use at least ${MIN_PASSPHRASE_LENGTH} characters, better several words.` };
  }
  const lowered = passphrase.toLowerCase();
  const stripped = lowered.replace(/[^a-z]/g, '');
  if (COMMON.some((word) => stripped === word || lowered.replace(/[\d\s!?.]+$/, '') === word) || isSequence(lowered)) {
    return { strength: 'weak', bits: 10, hint: 'Weak: this is one of the first things anyone guessing tries.' };
  }
  const bits = Math.round(Math.min(characterBits(chars), wordBits(passphrase)));
  if (bits < 45) return { strength: 'weak', bits, hint: 'Weak: easy to guess. Add more words, not just symbols.' };
  if (bits < 65) return { strength: 'fair', bits, hint: 'Fair: one or two more unrelated words make it much harder to guess.' };
  return { strength: 'strong', bits, hint: 'Strong: hard to guess. Make sure you can remember it.' };
}

function alphabetSize(chars: readonly string[]): number {
  let size = 0;
  if (chars.some((c) => /[a-z]/.test(c))) size += 26;
  if (chars.some((c) => /[A-Z]/.test(c))) size += 26;
  if (chars.some((c) => /[0-9]/.test(c))) size += 10;
  if (chars.some((c) => /[ -/:-@[-`{-~]/.test(c))) size += 33;
  if (chars.some((c) => c.charCodeAt(0) > 0x7f)) size += 100;
  return Math.max(size, 10);
}

/** Characters that repeat the one before or continue a run (abc, 321) add almost nothing. */
function characterBits(chars: readonly string[]): number {
  const perChar = Math.log2(alphabetSize(chars));
  let effective = 0;
  for (let i = 0; i < chars.length; i++) {
    const step = i > 0 ? chars[i]!.codePointAt(0)! - chars[i - 1]!.codePointAt(0)! : Infinity;
    effective += Math.abs(step) <= 1 ? 0.25 : 1;
  }
  return effective * perChar;
}

/** Words (runs of letters) count for BITS_PER_WORD each, other characters as in `characterBits`. */
function wordBits(passphrase: string): number {
  const words = passphrase.match(/\p{L}{2,}/gu) ?? [];
  const rest = [...passphrase.replace(/\p{L}{2,}/gu, '')];
  const distinct = new Set(words.map((word) => word.toLowerCase()));
  return distinct.size * BITS_PER_WORD + (words.length - distinct.size) + characterBits(rest.filter((c) => c !== ' '));
}

function isSequence(lowered: string): boolean {
  const compact = lowered.replace(/\s/g, '');
  if (/^(.)\1*$/.test(compact)) return true;
  return SEQUENCES.some((run) => run.includes(compact) || [...run].reverse().join('').includes(compact));
}
