import type { ReactNode } from 'react';
import { findMatches } from '../db/messageSearch.js';

/**
 * A text with the places a search matched in `<mark>`. The text stays text (React escapes it): it
 * may come from a stranger.
 */
export function HighlightedText({ text, query }: { text: string; query: string | undefined }) {
  const ranges = query ? findMatches(text, query) : [];
  if (ranges.length === 0) return <>{text}</>;
  const pieces: ReactNode[] = [];
  let at = 0;
  for (const { start, end } of ranges) {
    if (start > at) pieces.push(text.slice(at, start));
    pieces.push(
      <mark key={start} className="search-match">
        {text.slice(start, end)}
      </mark>,
    );
    at = end;
  }
  if (at < text.length) pieces.push(text.slice(at));
  return <>{pieces}</>;
}

/**
 * The part of a long text around its first match, so a search result shows why it matched even
 * when the match lies past what fits on one line.
 */
export function textAroundMatch(text: string, query: string, before = 14): string {
  const first = findMatches(text, query, 1)[0];
  if (!first || first.start <= before) return text;
  let from = first.start - before;
  // Start at a word if one begins shortly before, and never inside a surrogate pair.
  const space = text.indexOf(' ', from);
  if (space !== -1 && space < first.start - 4) from = space + 1;
  if (/[\uDC00-\uDFFF]/.test(text.charAt(from))) from -= 1;
  return `…${text.slice(from)}`;
}
