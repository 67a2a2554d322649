/**
 * The `TICKETS` payload (type 0x06 in protocol version 1, PROTOCOL-V1 section 3c): how a drop's owner
 * hands a contact one-time tickets for one of the owner's drops inside an encrypted message.
 * `drop index` u8 (position in the owner's announced drop list) · `count` u8 (1..60) · `count` tickets
 * of 32 bytes: at most 1922 bytes, so it fits one PDU's body.
 */
import { TICKET_BYTES } from './ticket.js';

export const TICKETS_PAYLOAD_TYPE = 0x06;
export const MAX_TICKETS_PER_PAYLOAD = 60;

export interface TicketsPayload {
  dropIndex: number;
  tickets: Uint8Array[];
}

export function encodeTicketsPayload(payload: TicketsPayload): Uint8Array {
  const { dropIndex, tickets } = payload;
  if (!Number.isInteger(dropIndex) || dropIndex < 0 || dropIndex > 255) throw new RangeError('drop index must fit in 8 bits');
  if (tickets.length < 1 || tickets.length > MAX_TICKETS_PER_PAYLOAD) throw new RangeError(`1 to ${MAX_TICKETS_PER_PAYLOAD} tickets`);
  const out = new Uint8Array(2 + tickets.length * TICKET_BYTES);
  out[0] = dropIndex;
  out[1] = tickets.length;
  tickets.forEach((ticket, i) => {
    if (ticket.length !== TICKET_BYTES) throw new RangeError('a ticket is 32 bytes');
    out.set(ticket, 2 + i * TICKET_BYTES);
  });
  return out;
}

/** The payload, or null for bytes that are not exactly one well-formed `TICKETS` body. */
export function decodeTicketsPayload(bytes: Uint8Array): TicketsPayload | null {
  if (bytes.length < 2) return null;
  const count = bytes[1]!;
  if (count < 1 || count > MAX_TICKETS_PER_PAYLOAD || bytes.length !== 2 + count * TICKET_BYTES) return null;
  const tickets = Array.from({ length: count }, (_, i) => bytes.slice(2 + i * TICKET_BYTES, 2 + (i + 1) * TICKET_BYTES));
  return { dropIndex: bytes[0]!, tickets };
}
