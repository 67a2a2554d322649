/**
 * When a drop the identity no longer hands out is still read (PROTOCOL-V1.md 2c "Migration", step 4).
 * A removed drop (identities/removeDrop) is read at the normal rate for RETIRED_DROP_READ_MS. A drop
 * moved away from (identities/moveDrop) is read for MOVE_OVERLAP_MS: at the normal rate for one
 * message lifetime (contacts who were online hear of the move within it), then during one window of
 * TAIL_WINDOW_MS a day, so a contact who was away for weeks still reaches us, at a small fraction of
 * the requests. The poller follows by itself: it watches `StateStore.readDropUrls(now)` and syncs
 * again at `StateStore.nextRetirement(now)`, which includes the windows' edges.
 */
import type { RetiringDrop } from '../../../shared/ipc/contract.js';

const DAY_MS = 24 * 3600_000;
/** How long a moved-away drop is read at all (the issue: an overlap of at least 30 days). */
export const MOVE_OVERLAP_MS = 30 * DAY_MS;
/** How long a moved-away drop is read at the normal rate: the protocol's default message lifetime. */
export const MOVE_FULL_RATE_MS = 7 * DAY_MS;
/**
 * After MOVE_FULL_RATE_MS a moved-away drop is read during this window once a day. An hour, not one
 * poll: the poller reads the drops it watches at its own interval, and a window shorter than an
 * interval with backoff could pass without a read; an hour a day is still 24 times fewer requests.
 */
export const TAIL_WINDOW_MS = 3600_000;

/** A stored retired drop (stateSchema `retiredDrops`). */
export interface RetiredDrop {
  url: string;
  until: number;
  movedAt?: number | undefined;
  /** When the UI said every contact confirmed the move (identities/moveConfirmed). */
  confirmedAt?: number | undefined;
}

/**
 * Where the daily windows of a moved-away drop start: after the full-rate days, or as soon as every
 * contact confirmed the move (PROTOCOL-V1.md 2c step 4: "until every contact has acked ... or 7 days").
 */
function tailStart(drop: RetiredDrop): number | null {
  if (drop.movedAt === undefined) return null;
  return Math.min(drop.movedAt + MOVE_FULL_RATE_MS, drop.confirmedAt ?? Infinity);
}

/** Whether the drop is still to be kept at all (its cursor, its server trusted as ours). */
export function isKept(drop: RetiredDrop, now: number): boolean {
  return now < drop.until;
}

/** Whether the drop is to be read at `now`. */
export function isRead(drop: RetiredDrop, now: number): boolean {
  if (!isKept(drop, now)) return false;
  const start = tailStart(drop);
  if (start === null || now < start) return true;
  return (now - start) % DAY_MS < TAIL_WINDOW_MS;
}

/** The next moment after `now` when `isRead` may change (null: never again, the drop is retired). */
export function nextChange(drop: RetiredDrop, now: number): number | null {
  if (!isKept(drop, now)) return null;
  const start = tailStart(drop);
  let next: number;
  if (start === null) next = drop.until;
  else if (now < start) next = start + TAIL_WINDOW_MS;
  else {
    const dayStart = start + Math.floor((now - start) / DAY_MS) * DAY_MS;
    next = now - dayStart < TAIL_WINDOW_MS ? dayStart + TAIL_WINDOW_MS : dayStart + DAY_MS;
  }
  return Math.min(next, drop.until);
}

/** What the identity summary says of it. */
export function retiringSummary(drop: RetiredDrop): RetiringDrop {
  return { url: drop.url, retireAt: drop.until, movedAt: drop.movedAt ?? null, dailyFrom: tailStart(drop) };
}
