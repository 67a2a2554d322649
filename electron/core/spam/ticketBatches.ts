/**
 * Top-up and revocation of the tickets an owner hands its contacts (PROTOCOL-V1 section 3c L1).
 *
 * Batches. Every hand-out of tickets to one contact for one closed drop is a batch: a random 16-byte
 * seed, the key id and expiry day it was minted with, and a count. Ticket i of a batch has the nonce
 * HMAC-SHA256(N, seed || i)[0..13], where N is a nonce key derived from the identity's spam secret and
 * the drop (dropKeys.ts): the owner keeps 40 bytes per batch instead of every ticket, and can mint the
 * same tickets again to strike them. The MAC is the policy's HMAC under K[key_id] as before.
 *
 * Why the server still cannot link two posts to one contact: it knows K[key_id] (to check the MAC)
 * but not N, so a nonce is a pseudorandom function's output it cannot tell from random; the key id is
 * one for all contacts and the expiry day one for every ticket minted in a 15-day period (day.ts). Two
 * tickets of one batch look like two tickets of two batches.
 *
 * Top-up, without traffic of its own: the owner cannot see which ticket a post used (the server keeps
 * the header), so it estimates what a contact has left as the tickets it handed out (live batches)
 * minus the messages that came from that contact through that drop (each took one; PINGs and receipts
 * are not counted, so the estimate errs high). When the estimate falls to a third of a batch, the
 * next message the identity sends the contact carries a fresh batch (outbox/ticketHandOut.ts hands it out
 * with that message, as the first one).
 *
 * Revocation (on block or delete of a contact): the owner mints the contact's live batches again and
 * sends them as `strikes` in a policy update signed with the drop's owner key (seq + 1, at most
 * MAX_STRIKES a policy, so large revocations take several updates); the server adds them to the drop's
 * spent set, so each later POST with one is refused as 409 Ticket spent, and the contact's engine
 * empties that wallet and goes on as a stranger (stamp, introduction quota). What revocation tells
 * the server: that the struck tickets belong together, so those of them it saw spent were posts of
 * one sender (whom it cannot name); nothing about any other contact's tickets, which stay random to
 * it. Rotating the key id instead would hide even that, at the price of handing every other contact
 * new tickets.
 *
 * Several devices. Each device of an identity hands out batches of its own (random seeds, kept in its
 * own state) and strikes only those. A block or delete is synced to the siblings like any contact
 * change, and each sibling's UI then asks its engine to revoke (renderer/src/devices/syncApply.ts
 * `revoke`), so every device strikes exactly the batches it handed out; the policy seq they share is
 * learned from the server's 409 and told to the siblings (revocation.ts). Not chosen: seeds derived
 * from the identity key, contact and a counter, so that any device could mint a sibling's batches
 * again: it would have to strike every (device, counter, expiry period, key id) a sibling may have
 * used, thousands of tickets it cannot tell from unused ones, in policy updates of MAX_STRIKES each,
 * or have the counters synced after all; nor syncing the batches themselves: a sync message at every
 * top-up, with every contact's live batches, more than one sync message holds. What stays open: a
 * device that is off strikes when it is next running (its batches stay usable until then), and the
 * batches of a device lost or removed stay usable until they expire (at most 75 days).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { dayNumber, ticketExpiryDay } from '../../../shared/spam/day.js';
import { MAX_STRIKES } from '../../../shared/spam/policy.js';
import { dropIdBytes, encodeTicket, TICKET_NONCE_BYTES, ticketMacInput } from '../../../shared/spam/ticket.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import { nonceKeyFor, ticketKeyFor } from './dropKeys.js';

/** One hand-out of tickets to one contact for one drop, as the owner's state keeps it. */
export interface TicketBatch {
  /** The contact (64 hex). */
  contact: string;
  /** 16 random bytes, base64url. */
  seed: string;
  keyId: number;
  expDay: number;
  count: number;
}

/** Tickets in one batch: the most a contact is handed at once (shared/spam/ticketsPayload.ts). */
export const TICKETS_PER_BATCH = 60;
/** A contact estimated to hold this many or fewer is handed a fresh batch with the next message. */
export const TOP_UP_AT = Math.floor(TICKETS_PER_BATCH / 3);
const SEED_BYTES = 16;

/** A new batch for `contact`, minted with `keyId` today. */
export function newBatch(contact: string, keyId: number, nowMs: number, count = TICKETS_PER_BATCH): TicketBatch {
  return { contact, seed: toBase64Url(randomBytes(SEED_BYTES)), keyId, expDay: ticketExpiryDay(dayNumber(nowMs)), count };
}

/** The tickets of a batch, the same every time for the same secret and drop. */
export function batchTickets(secret: Uint8Array, dropId: string, batch: TicketBatch): Uint8Array[] {
  const ticketKey = ticketKeyFor(secret, dropId, batch.keyId);
  const nonceKey = nonceKeyFor(secret, dropId);
  const idBytes = dropIdBytes(dropId);
  const seed = fromBase64Url(batch.seed);
  return Array.from({ length: batch.count }, (_, i) => {
    const index = Buffer.alloc(2);
    index.writeUInt16BE(i);
    const nonce = new Uint8Array(createHmac('sha256', nonceKey).update(seed).update(index).digest().subarray(0, TICKET_NONCE_BYTES));
    const mac = createHmac('sha256', ticketKey).update(ticketMacInput(idBytes, batch.expDay, batch.keyId, nonce)).digest();
    return encodeTicket({ expDay: batch.expDay, keyId: batch.keyId, nonce, mac });
  });
}

/** Batches whose tickets the server still takes today. */
export function liveBatches(batches: readonly TicketBatch[], nowMs: number): TicketBatch[] {
  const today = dayNumber(nowMs);
  return batches.filter((b) => b.expDay >= today);
}

/**
 * How many tickets `contact` is estimated to hold: handed out in live batches minus the messages
 * that came from it through the drop since (never below 0).
 */
export function estimatedLeft(batches: readonly TicketBatch[], arrived: number, contact: string, nowMs: number): number {
  const handed = liveBatches(batches, nowMs).filter((b) => b.contact === contact).reduce((sum, b) => sum + b.count, 0);
  return Math.max(0, handed - arrived);
}

/** Whether `contact`, handed tickets before, is due a fresh batch. */
export function topUpDue(batches: readonly TicketBatch[], arrived: number, contact: string, nowMs: number): boolean {
  return estimatedLeft(batches, arrived, contact, nowMs) <= TOP_UP_AT;
}

/** The strike lists that revoke `contact`'s live tickets, MAX_STRIKES a policy update (none when it holds none). */
export function strikesFor(secret: Uint8Array, dropId: string, batches: readonly TicketBatch[], contact: string, nowMs: number): Uint8Array[][] {
  const tickets = liveBatches(batches, nowMs)
    .filter((b) => b.contact === contact)
    .flatMap((b) => batchTickets(secret, dropId, b));
  const lists: Uint8Array[][] = [];
  for (let i = 0; i < tickets.length; i += MAX_STRIKES) lists.push(tickets.slice(i, i + MAX_STRIKES));
  return lists;
}
