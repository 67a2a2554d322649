/**
 * Text from strangers stays text (STYLE.md 19): a stranger's alias or message must not start a new
 * line that looks like another message, move a terminal's cursor, recolour it, or reorder what is
 * shown with bidirectional controls. One definition of such characters for every place that shows
 * untrusted text outside the DOM (terminal, OS notifications, titles).
 */

/**
 * Bidirectional formatting characters: embeddings, overrides, isolates and the implicit marks.
 * An override (U+202E) makes `https://evil.example/moc.knab` read as something else.
 */
export const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
const BIDI_CONTROLS = new RegExp(BIDI_CONTROL.source, 'g');

/**
 * C0 and C1 controls and DEL; format characters (bidi controls, zero-width and invisible marks,
 * which include every bidi control); line and paragraph separators.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const UNSAFE_CHARACTER = /[\u0000-\u001f\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/u;
const UNSAFE_CHARACTERS = new RegExp(UNSAFE_CHARACTER.source, 'gu');

/** The text with every bidirectional control removed (for text shown inside a link). */
export function withoutBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, '');
}

const NAMED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };
const REVEALED = new RegExp(`\\\\|${UNSAFE_CHARACTER.source}`, 'gu');

/**
 * For a terminal: every unsafe character written out visibly (`\n`, `\e`, `\x07`, `<U+202E>`), and
 * backslashes doubled so that a written-out sequence cannot be faked.
 */
export function revealUnsafe(text: string): string {
  return text.replace(REVEALED, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.codePointAt(0)!;
    return code <= 0x9f ? `\\x${code.toString(16).padStart(2, '0')}` : `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
  });
}

/** For one line of plain text (a notification, a title): unsafe characters become spaces, runs of white space one. */
export function flattenUnsafe(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
}
