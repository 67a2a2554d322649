import type { MessageRecord } from '../db/records.js';

/** Messages of one sender this close together form one group (one time line, tight spacing), as in Signal. */
export const GROUP_GAP_MS = 3 * 60_000;

/** Where a message sits in its group: alone, or first, inside or last of several. */
export type GroupPosition = 'single' | 'first' | 'middle' | 'last';

/** Local calendar day of a timestamp, as a number that is equal for the same day. */
export function dayNumber(ms: number): number {
  const d = new Date(ms);
  return d.getFullYear() * 10_000 + d.getMonth() * 100 + d.getDate();
}

/** True when `later` continues the group of `earlier`: same sender, same day, a short while after. */
export function continuesGroup(earlier: MessageRecord | undefined, later: MessageRecord | undefined): boolean {
  // A line about a change (kind `event`) stands on its own: the bubble before it keeps its time and status.
  if (!earlier || !later || earlier.kind === 'event' || later.kind === 'event') return false;
  return (
    earlier.direction === later.direction &&
    later.sortAt - earlier.sortAt <= GROUP_GAP_MS &&
    dayNumber(earlier.sortAt) === dayNumber(later.sortAt)
  );
}

export function groupPosition(joinsPrevious: boolean, joinsNext: boolean): GroupPosition {
  if (joinsPrevious) return joinsNext ? 'middle' : 'last';
  return joinsNext ? 'first' : 'single';
}
