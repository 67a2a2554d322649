import { BIDI_CONTROL } from '../../../shared/text/untrustedText.js';

export type TextPiece =
  | { kind: 'text'; text: string }
  /** `host` is the host the link really goes to; `hostHidden` when the link's text does not plainly start with it. */
  | { kind: 'link'; text: string; url: string; host: string; hostHidden: boolean };

/** A link ends at white space, at characters that end it in HTML, and at any bidirectional control. */
const LINK = new RegExp(String.raw`\bhttps?://[^\s<>"${BIDI_CONTROL.source.slice(1, -1)}]+`, 'gi');
/** Punctuation that usually ends the sentence, not the link. */
const TRAILING = new Set(".,;:!?)]'»”");

/** Splits text into plain pieces and http(s) links (the only schemes ever made clickable). */
export function splitLinks(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const raw = match[0];
    const trimmed = withoutTrailingPunctuation(raw);
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

/**
 * `link` without the punctuation it ends with. A loop from the end, not a `[…]+$` regex: that one
 * backtracks through every run of punctuation that does not reach the end, so a stranger's link
 * holding 30,000 dots took two seconds on every render of the message.
 */
function withoutTrailingPunctuation(link: string): string {
  let end = link.length;
  while (end > 0 && TRAILING.has(link[end - 1]!)) end--;
  return link.slice(0, end);
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
