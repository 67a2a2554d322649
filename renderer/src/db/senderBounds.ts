/**
 * What one sender can make us store. Anyone who knows a drop can fill it as fast as the drop server
 * takes messages, and everything stored costs disk, memory and time in every later batch. These
 * bounds turn a stranger's flood into one collapsed request; they are checked before anything is
 * written (`inboxChunk.ts`), and what they drop is counted, not stored.
 */
import { MAX_TEXT_PARTS } from '../../../shared/protocol/message.js';
import type { ContactStatus } from './records.js';

/** Messages stored from a sender the user has not accepted (a request, or ignored): enough to decide. */
export const MAX_REQUEST_MESSAGES = 50;
/** Open requests per identity; messages from further strangers are counted, not stored. */
export const MAX_OPEN_REQUESTS = 100;
/**
 * Incoming messages handled per transaction. A Block, or a contact's message behind a flood, waits
 * for one such transaction, not for the whole batch.
 */
export const MESSAGES_PER_TRANSACTION = 256;
/** Receipts for acknowledge ids we do not know (yet) kept per sender, and for how long. */
export const MAX_WAITING_RECEIPTS_PER_SENDER = 64;
export const WAITING_RECEIPT_TTL_MS = 24 * 60 * 60 * 1000;
/** Dropped messages remembered: as many as the engine keeps per poll, so a whole batch delivered again is known. */
const REMEMBERED_DROPS = 20_000;

/** Contacts the user accepted: they owe us nothing, we owe them receipts. */
export function isAccepted(status: ContactStatus): boolean {
  return status === 'accepted' || status === 'verified';
}

/**
 * Parts of unfinished long texts kept per sender: the longest text there is for a request, four of
 * them for a contact. A part that completes its text is always kept (it frees the others).
 */
export function maxPendingParts(status: ContactStatus): number {
  return isAccepted(status) ? 4 * MAX_TEXT_PARTS : MAX_TEXT_PARTS;
}

/** Where the count of messages from strangers beyond MAX_OPEN_REQUESTS is kept (the `settings` table). */
export function unstoredRequestsKey(identityId: string): string {
  return `unstoredRequests:${identityId}`;
}

/**
 * The messages dropped by a bound lately, so that a batch the engine delivers again (it does until
 * the batch is acknowledged) does not count a flood twice. Only consulted for messages dropped anyway,
 * so it decides what is counted, never what is stored; kept as 53-bit hashes, in memory, bounded: a
 * key forgotten makes a count too high, a colliding one (about 1 in 10^11) one too low.
 */
export class DroppedKeys {
  private readonly hashes = new Set<number>();

  /** Notes a dropped message; false when it was noted before. */
  remember(identityId: string, dedupeKey: string): boolean {
    const hash = hash53(`${identityId}\n${dedupeKey}`);
    if (this.hashes.has(hash)) return false;
    this.hashes.add(hash);
    if (this.hashes.size > REMEMBERED_DROPS) this.hashes.delete(this.hashes.values().next().value!);
    return true;
  }
}

/** cyrb53: a fast 53-bit string hash (not cryptographic; collisions only skew a count). */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
