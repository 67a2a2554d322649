/**
 * The drops of the identities in the engine's state: which are read and whose cursors are kept at a
 * given time, and how an identity's drop list changes (set, withdrawn, moved, a move confirmed, a
 * sibling device's list adopted), each change retiring what it takes off (drops/retiring.ts) and
 * counting the drops epoch on. These change the state they are given; the state store
 * (stateStore.ts) finds the identity, checks it is unlocked and saves.
 */
import { MOVE_OVERLAP_MS, type RetiredDrop, isKept, isRead, nextChange } from '../drops/retiring.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { EngineState, StoredIdentity } from './stateSchema.js';

/**
 * How long a removed drop is still read: twice the protocol's default TTL (7 days), for servers kept
 * longer than the default and contacts that post late.
 */
export const RETIRED_DROP_READ_MS = 14 * 24 * 3600_000;

/** Every drop to read at `now`: the identities' drops and their retired ones still read, each once. */
export function dropsReadAt(identities: readonly StoredIdentity[], now: number): string[] {
  // A drop moved away from is read once a day after its first week (drops/retiring.ts).
  const retired = identities.flatMap((identity) => identity.retiredDrops.filter((drop) => isRead(drop, now)).map((drop) => drop.url));
  return [...new Set([...identities.flatMap((identity) => identity.dropUrls), ...retired])];
}

/** Every drop whose cursor is kept at `now`: those read now and the retired ones between their daily windows. */
export function dropsKeptAt(identities: readonly StoredIdentity[], now: number): string[] {
  const retired = identities.flatMap((identity) => identity.retiredDrops.filter((drop) => isKept(drop, now)).map((drop) => drop.url));
  return [...new Set([...identities.flatMap((identity) => identity.dropUrls), ...retired])];
}

/** When `dropsReadAt` changes next by itself (null: never). */
export function nextRetirementOf(identities: readonly StoredIdentity[], now: number): number | null {
  const changes = identities.flatMap((identity) => identity.retiredDrops.map((drop) => nextChange(drop, now))).filter((at) => at !== null);
  return changes.length > 0 ? Math.min(...changes) : null;
}

/** Forgets the cursors of drops no identity keeps at `now`. */
export function forgetCursorsNotKept(state: EngineState, now: number): void {
  const stillRead = new Set(dropsKeptAt(state.identities, now));
  for (const dropUrl of Object.keys(state.cursors)) if (!stillRead.has(dropUrl)) delete state.cursors[dropUrl];
}

/** Sets an identity's drops; a drop taken off the list is read on for RETIRED_DROP_READ_MS from `now`. */
export function replaceDrops(stored: StoredIdentity, dropUrls: readonly string[], now: number): void {
  const removed = stored.dropUrls.filter((url) => !dropUrls.includes(url));
  stored.retiredDrops = [
    ...stored.retiredDrops.filter((drop) => drop.until > now && !dropUrls.includes(drop.url) && !removed.includes(drop.url)),
    ...removed.map((url) => ({ url, until: now + RETIRED_DROP_READ_MS })),
  ];
  if (stored.dropUrls.join('\n') !== dropUrls.join('\n')) stored.dropsEpoch = nextDropsEpoch(stored.dropsEpoch);
  stored.dropUrls = [...dropUrls];
}

/** Takes a drop off the list at once, not read on (it was never given out). */
export function withdrawDrop(stored: StoredIdentity, dropUrl: string): void {
  if (stored.dropUrls.includes(dropUrl)) stored.dropsEpoch = nextDropsEpoch(stored.dropsEpoch);
  stored.dropUrls = stored.dropUrls.filter((url) => url !== dropUrl);
}

/**
 * Moves an identity from `fromDropUrl` to `newDropUrl`: the new drop goes first, the old one is read
 * on until MOVE_OVERLAP_MS from `now`.
 * @throws ApiFailure 'not_found' without that drop, 'already_exists' when the new one is listed already.
 */
export function moveDropOf(stored: StoredIdentity, fromDropUrl: string, newDropUrl: string, now: number): void {
  if (!stored.dropUrls.includes(fromDropUrl)) throw new ApiFailure('not_found', 'This identity has no such drop.');
  if (stored.dropUrls.includes(newDropUrl)) throw new ApiFailure('already_exists', 'This identity has this drop already.');
  stored.retiredDrops = [
    ...stored.retiredDrops.filter((drop) => drop.until > now && drop.url !== fromDropUrl && drop.url !== newDropUrl),
    { url: fromDropUrl, until: now + MOVE_OVERLAP_MS, movedAt: now },
  ];
  stored.dropUrls = [newDropUrl, ...stored.dropUrls.filter((url) => url !== fromDropUrl)];
  stored.dropsEpoch = nextDropsEpoch(stored.dropsEpoch);
}

/**
 * Notes that every contact confirmed the move away from `fromDropUrl` at `now`.
 * @throws ApiFailure 'not_found' when the identity is not moving away from it.
 */
export function confirmMoveOf(stored: StoredIdentity, fromDropUrl: string, now: number): void {
  const drop = stored.retiredDrops.find((retired) => retired.url === fromDropUrl && retired.movedAt !== undefined && retired.until > now);
  if (!drop) throw new ApiFailure('not_found', 'This identity is not moving away from this drop.');
  drop.confirmedAt ??= now;
}

/**
 * Takes a sibling device's drop list: its drops, its epoch, and its retiring drops merged with ours
 * (the later end, the earlier move). A drop this device read until now and the sibling no longer lists
 * retires here as after a removal.
 */
export function adoptDropsOf(stored: StoredIdentity, change: { epoch: number; dropUrls: readonly string[]; retiring: readonly RetiredDrop[] }, now: number): void {
  const listed = new Set(change.dropUrls);
  const retiring = new Map<string, RetiredDrop>();
  const take = (drop: RetiredDrop) => {
    if (listed.has(drop.url) || drop.until <= now) return;
    const known = retiring.get(drop.url);
    if (!known) {
      retiring.set(drop.url, { ...drop });
      return;
    }
    const movedAt = known.movedAt === undefined ? drop.movedAt : drop.movedAt === undefined ? known.movedAt : Math.min(known.movedAt, drop.movedAt);
    const confirmedAt = known.confirmedAt === undefined ? drop.confirmedAt : drop.confirmedAt === undefined ? known.confirmedAt : Math.min(known.confirmedAt, drop.confirmedAt);
    retiring.set(drop.url, { url: drop.url, until: Math.max(known.until, drop.until), ...(movedAt !== undefined ? { movedAt } : {}), ...(confirmedAt !== undefined ? { confirmedAt } : {}) });
  };
  for (const drop of stored.retiredDrops) take(drop);
  for (const drop of change.retiring) take(drop);
  // Ours, gone from the sibling's list and not retiring there (its end passed there, or it never knew it).
  for (const url of stored.dropUrls) if (!retiring.has(url)) take({ url, until: now + RETIRED_DROP_READ_MS });
  stored.retiredDrops = [...retiring.values()];
  stored.dropUrls = [...change.dropUrls];
  stored.dropsEpoch = change.epoch & 0xffff;
}

/** The drops epoch after a change of the drop list: a u16 that wraps (compared as serial numbers). */
function nextDropsEpoch(epoch: number): number {
  return (epoch + 1) & 0xffff;
}
