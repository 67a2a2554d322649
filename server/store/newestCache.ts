/**
 * What a store knows without asking the database: the newest message of each drop (or that a
 * drop is empty). Polls that find nothing new (HEAD, GET with a current cursor: most requests a
 * drop server sees) are then answered from memory.
 *
 * A store whose database other instances write to hears of their commits (`appended`) only after
 * its own reads may have started. Such a store takes a `ticket` before each read and passes it to
 * `learn`: the answer is dropped when anything was heard of that drop since the ticket (a commit, a
 * delete, a lost notification link), because the read may have been answered before it. While it
 * cannot hear of commits at all, the store `suspend`s the cache.
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
  /** Marks the start of a database read whose answer will be learned. */
  ticket(): number;
  /**
   * Records what the database said is the newest message of a drop (null: empty). With the
   * `ticket` taken before the read, nothing is recorded if the drop changed since.
   */
  learn(dropId: string, newest: MessageStamp | null, ticket?: number): void;
  /** A message was committed (the newest known stays the one with the highest position). */
  appended(dropId: string, stamp: MessageStamp): void;
  /** Messages were deleted: nothing known still holds. */
  clear(): void;
  /** Forgets everything and answers nothing until `resume` (news of commits stopped coming). */
  suspend(): void;
  /** Forgets everything learned before and answers again. */
  resume(): void;
  /** True between `suspend` and `resume`: reads made only to learn are wasted then. */
  isSuspended(): boolean;
}

interface DropEntry {
  /** Undefined while only the time of the last news is known. */
  newest?: MessageStamp | null;
  /** The event count when the drop was last heard of. */
  heardAt: number;
}

export function createNewestCache(): NewestCache {
  const drops = new Map<string, DropEntry>();
  let events = 0;
  /** Every drop not in the map counts as heard of when the map was last emptied. */
  let forgottenAt = 0;
  let live = true;

  const forget = (): void => {
    drops.clear();
    forgottenAt = ++events;
  };
  /** Keeps position and time only: a message's body must not stay in memory with its stamp. */
  const stampOf = (m: MessageStamp): MessageStamp => ({ position: m.position, receivedAtMs: m.receivedAtMs });
  const entry = (dropId: string): DropEntry => {
    let found = drops.get(dropId);
    if (!found) {
      if (drops.size >= MAX_DROPS) forget();
      found = { heardAt: forgottenAt };
      drops.set(dropId, found);
    }
    return found;
  };

  return {
    answer(query) {
      // Time filters compare arrival times, which a clock step could make disagree with positions.
      if (!live || query.since.kind === 'receivedFrom') return undefined;
      const known = drops.get(query.dropId)?.newest;
      if (known === undefined || known === null) return known;
      const after = query.since.kind === 'afterPosition' ? query.since.position : 0;
      if (known.position <= after) return null;
      // The newest has expired; older ones very likely too, but let the database decide.
      if (known.receivedAtMs < query.notBeforeMs) return undefined;
      return known;
    },
    ticket: () => events,
    learn(dropId, newest, ticket = events) {
      if (!live || (drops.get(dropId)?.heardAt ?? forgottenAt) > ticket) return;
      entry(dropId).newest = newest && stampOf(newest);
    },
    appended(dropId, stamp) {
      if (!live) return;
      const found = entry(dropId);
      found.heardAt = ++events;
      if (!found.newest || found.newest.position < stamp.position) found.newest = stampOf(stamp);
    },
    clear: forget,
    suspend() {
      forget();
      live = false;
    },
    resume() {
      forget();
      live = true;
    },
    isSuspended: () => !live,
  };
}
