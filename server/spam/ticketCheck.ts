/** Checks a one-time ticket's MAC and expiry (shared/spam/ticket.ts); the spent set is the store's. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TICKET_MAC_BYTES, ticketMacInput, type Ticket } from '../../shared/spam/ticket.js';

/** True when the ticket names a key of the drop, is not past its day, and its MAC is right. */
export function ticketIsValid(dropIdBytes: Uint8Array, ticket: Ticket, keys: ReadonlyMap<number, Buffer>, today: number): boolean {
  if (ticket.expDay < today) return false;
  const key = keys.get(ticket.keyId);
  if (!key) return false;
  const mac = createHmac('sha256', key).update(ticketMacInput(dropIdBytes, ticket.expDay, ticket.keyId, ticket.nonce)).digest();
  return timingSafeEqual(mac.subarray(0, TICKET_MAC_BYTES), ticket.mac);
}
