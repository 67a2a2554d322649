export type TextPiece = { kind: 'text'; text: string } | { kind: 'link'; text: string; url: string };

const LINK = /\bhttps?:\/\/[^\s<>"]+/gi;
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
    pieces.push({ kind: 'link', text: trimmed, url });
    last = start + trimmed.length;
  }
  if (last < text.length) pieces.push({ kind: 'text', text: text.slice(last) });
  return pieces;
}

function safeHttpUrl(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}
