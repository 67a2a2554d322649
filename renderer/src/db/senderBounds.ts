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
/** Dedupe keys of dropped messages remembered, so a batch delivered again does not count them twice. */
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
 * The dedupe keys of messages dropped by a bound lately. The engine delivers a batch again until it
 * is acknowledged, so without this a flood would be counted once per delivery. In memory and
 * bounded: a key forgotten only makes a count too high.
 */
export class DroppedKeys {
  private readonly keys = new Set<string>();

  has(identityId: string, dedupeKey: string): boolean {
    return this.keys.has(`${identityId}\n${dedupeKey}`);
  }

  add(identityId: string, dedupeKey: string): void {
    this.keys.add(`${identityId}\n${dedupeKey}`);
    if (this.keys.size > REMEMBERED_DROPS) this.keys.delete(this.keys.values().next().value!);
  }
}
