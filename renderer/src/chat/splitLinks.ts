import { BIDI_CONTROL } from '../../../shared/text/untrustedText.js';

export type TextPiece =
  | { kind: 'text'; text: string }
  /** `host` is the host the link really goes to; `hostHidden` when the link's text does not plainly start with it. */
  | { kind: 'link'; text: string; url: string; host: string; hostHidden: boolean };

/** A link ends at white space, at characters that end it in HTML, and at any bidirectional control. */
const LINK = new RegExp(String.raw`\bhttps?://[^\s<>"${BIDI_CONTROL.source.slice(1, -1)}]+`, 'gi');
/** Punctuation that usually ends the sentence, not the link. */
const TRAILING = /[.,;:!?)\]'»”]+$/;

/** Splits text into plain pieces and http(s) links (the only schemes ever made clickable). */
export function splitLinks(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const raw = match[0];
    const trimmed = raw.replace(TRAILING, '');
    const start = match.index ?? 0;
    const url = safeHttpUrl(trimmed);
    if (!url) continue;
    if (start > last) pieces.push({ kind: 'text', text: text.slice(last, start) });
    pieces.push({ kind: 'link', text: trimmed, url: url.href, host: url.host, hostHidden: writtenHost(trimmed) !== url.host });
    last = start + trimmed.length;
  }
  if (last < text.length) pieces.push({ kind: 'text', text: text.slice(last) });
  return pieces;
}

/** The host as the link's text spells it: between `://` and the first `/`, `?`, `#` or `\`. */
function writtenHost(text: string): string {
  const afterScheme = text.slice(text.indexOf('://') + 3);
  return afterScheme.split(/[/?#\\]/, 1)[0]!.toLowerCase();
}

function safeHttpUrl(candidate: string): URL | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}
