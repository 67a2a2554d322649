/**
 * Text from strangers stays text: helpers that keep Unicode controls from rearranging or hiding
 * what is shown around them (STYLE.md 19).
 */

/**
 * Bidirectional formatting characters: embeddings, overrides, isolates and the implicit marks.
 * An override (U+202E) makes `https://evil.example/moc.knab` read as something else.
 */
export const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
export const BIDI_CONTROLS = new RegExp(BIDI_CONTROL.source, 'g');

/** The text with every bidirectional control removed (for text shown inside a link). */
export function withoutBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, '');
}
