/**
 * Bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069). Shown as they come,
 * one in a stranger's text reorders everything after it up to the paragraph's end: `http://evil.example/`
 * followed by U+202E and `gnp.exe` reads `http://evil.example/exe.png`. Arabic and Hebrew need none of
 * them (their letters carry their direction), so they are dropped from every text shown; the implicit
 * marks (U+200E, U+200F, U+061C) stay, as they move only punctuation next to them, never letters.
 */
const BIDI_FORMATTING = /[\u202A-\u202E\u2066-\u2069]/g;

/** `text` without bidirectional embeddings, overrides and isolates (for message texts and previews). */
export function withoutBidiFormatting(text: string): string {
  return text.replace(BIDI_FORMATTING, '');
}
