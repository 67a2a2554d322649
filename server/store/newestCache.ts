/**
 * What a single-writer store knows without asking the database: the newest message of each drop
 * (or that a drop is empty). Polls that find nothing new (HEAD, GET with a current cursor: most
 * requests a drop server sees) are then answered from memory.
 */
import type { DropQuery, MessageStamp } from './dropStore.js';

/** Forgetting everything past this many drops bounds the memory a flood of random drop IDs can take. */
const MAX_DROPS = 100_000;

export interface NewestCache {
  /**
   * `null` when the query certainly matches nothing, the newest matching stamp when that is
   * certain, `undefined` when the database must be asked.
   */
  answer(query: DropQuery): MessageStamp | null | undefined;
  /** Records what the database said is the newest message of a drop (null: empty). */
  learn(dropId: string, newest: MessageStamp | null): void;
  /** A message was committed. */
  appended(dropId: string, stamp: MessageStamp): void;
  /** Messages were deleted: nothing known still holds. */
  clear(): void;
}

export function createNewestCache(): NewestCache {
  const newest = new Map<string, MessageStamp | null>();
  const remember = (dropId: string, stamp: MessageStamp | null): void => {
    if (newest.size >= MAX_DROPS && !newest.has(dropId)) newest.clear();
    newest.set(dropId, stamp);
  };
  return {
    answer(query) {
      // Time filters compare arrival times, which a clock step could make disagree with positions.
      if (query.since.kind === 'receivedFrom') return undefined;
      const known = newest.get(query.dropId);
      if (known === undefined || known === null) return known;
      const after = query.since.kind === 'afterPosition' ? query.since.position : 0;
      if (known.position <= after) return null;
      // The newest has expired; older ones very likely too, but let the database decide.
      if (known.receivedAtMs < query.notBeforeMs) return undefined;
      return known;
    },
    learn: remember,
    appended: remember,
    clear: () => newest.clear(),
  };
}
