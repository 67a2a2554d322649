import { useEffect, useMemo, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { buildTextMessages } from '../../../shared/protocol/textMessages.js';

/**
 * How many drop messages a text will go out as (long texts are split, never truncated), counted
 * with the same splitter the engine uses and the largest introduction it may attach; null when the
 * text cannot be sent at all.
 */
export function partsNeeded(text: string, identity: IdentitySummary): number | null {
  try {
    return buildTextMessages({
      sender: identity.publicKey,
      text,
      meta: { alias: identity.alias, dropUrl: identity.dropUrls[0], publicKey: identity.publicKey },
      wantReceipt: true,
      now: Date.now(),
      newId: () => crypto.randomUUID(),
    }).length;
  } catch {
    return null;
  }
}

/** Texts up to this length are counted on every keystroke: splitting them takes well under a millisecond. */
export const COUNT_EVERY_KEY_CHARS = 2000;
/** A longer text is counted once typing pauses this long (ms). */
export const COUNT_PAUSE_MS = 300;

/**
 * `partsNeeded` for the composer. Splitting serialises the text about a dozen times per part, so
 * counting on every keystroke made typing a long text quadratic (30,000 characters: tens of
 * milliseconds a key, growing with each one); a long text is counted once typing pauses, and until
 * then the last count stands (`undefined` before the first). `count` is replaceable for tests.
 */
export function usePartsNeeded(
  text: string,
  identity: IdentitySummary | null,
  count: (text: string, identity: IdentitySummary) => number | null = partsNeeded,
): number | null | undefined {
  const empty = text.trim() === '' || identity === null;
  const everyKey = empty || text.length <= COUNT_EVERY_KEY_CHARS;
  const immediate = useMemo(() => (empty ? 0 : everyKey ? count(text, identity) : undefined), [empty, everyKey, text, identity, count]);
  const [paused, setPaused] = useState<{ text: string; parts: number | null } | null>(null);
  useEffect(() => {
    if (everyKey || identity === null) return;
    const timer = setTimeout(() => setPaused({ text, parts: count(text, identity) }), COUNT_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [everyKey, text, identity, count]);
  return everyKey ? immediate : paused?.parts;
}
