/**
 * Minting one-time tickets for a closed drop of the owner's (shared/spam/ticket.ts). Tickets carry a
 * random nonce, a quantised expiry day (shared/spam/day.ts) and the current key id, so every ticket of
 * one minting period looks alike to the server whoever it was given to.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { dayNumber, ticketExpiryDay } from '../../../shared/spam/day.js';
import { decodeTicket, dropIdBytes, encodeTicket, formatTicketHeader, TICKET_NONCE_BYTES, ticketMacInput } from '../../../shared/spam/ticket.js';
import { TICKET_HEADER } from '../../../shared/spam/wire.js';
import { ticketKeyFor } from './dropKeys.js';

export interface MintOptions {
  /** The identity's spam secret (dropKeys.ts). */
  secret: Uint8Array;
  dropId: string;
  /** The key id the drop's current policy names (the newest after a rotation). */
  keyId: number;
  count: number;
  /** Milliseconds since the epoch (tests move it). */
  nowMs?: number;
}

/** `count` fresh tickets of 32 bytes. */
export function mintTickets({ secret, dropId, keyId, count, nowMs = Date.now() }: MintOptions): Uint8Array[] {
  const key = ticketKeyFor(secret, dropId, keyId);
  const idBytes = dropIdBytes(dropId);
  const expDay = ticketExpiryDay(dayNumber(nowMs));
  return Array.from({ length: count }, () => {
    const nonce = new Uint8Array(randomBytes(TICKET_NONCE_BYTES));
    const mac = createHmac('sha256', key).update(ticketMacInput(idBytes, expDay, keyId, nonce)).digest();
    return encodeTicket({ expDay, keyId, nonce, mac });
  });
}

/** The parts of a ticket and whether it is still usable today (what a contact's wallet checks). */
export function ticketInfo(ticket: Uint8Array, nowMs = Date.now()): { expDay: number; keyId: number; usable: boolean } | null {
  const parsed = decodeTicket(ticket);
  if (!parsed) return null;
  return { expDay: parsed.expDay, keyId: parsed.keyId, usable: parsed.expDay >= dayNumber(nowMs) };
}

/** The header that carries a ticket on a POST. */
export function ticketHeaderFor(ticket: Uint8Array): Record<string, string> {
  return { [TICKET_HEADER]: formatTicketHeader(ticket) };
}
