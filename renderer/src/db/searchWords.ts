/** Words shorter than this are not indexed (they would match nearly everything). */
export const MIN_WORD_LENGTH = 2;
/** A long text indexes its first distinct words only, to bound the index per message. */
export const MAX_WORDS_PER_MESSAGE = 512;

/**
 * The distinct lower-case words of a text (letters and digits), as stored in the multi-entry
 * `words` index that makes searching message text fast at any number of messages.
 */
export function searchWords(text: string): string[] {
  const words = new Set<string>();
  for (const match of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = match[0];
    if (word.length >= MIN_WORD_LENGTH) words.add(word.slice(0, 64));
    if (words.size >= MAX_WORDS_PER_MESSAGE) break;
  }
  return [...words];
}
