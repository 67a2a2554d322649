/**
 * One-time tickets for closed drops (Pond's HMAC delivery tokens, PROTOCOL-V1 section 3c L1):
 * `exp_day` u16 · `key_id` u8 · `nonce` 13 · `mac` 16, where
 * `mac = HMAC-SHA256(K[key_id], dropId || exp_day || key_id || nonce)[0..16]` and `dropId` is the
 * drop ID's 32 raw bytes. The nonce is random, so two tickets of one contact share nothing the
 * server could link. Only the layout lives here (shared code has no HMAC): the server and the
 * client library compute the MAC with their own crypto over `ticketMacInput`.
 */
import { fromBase64Url, toBase64Url } from '../protocol/encoding.js';
import { isValidDropId } from '../protocol/dropId.js';

export const TICKET_BYTES = 32;
export const TICKET_NONCE_BYTES = 13;
export const TICKET_MAC_BYTES = 16;
/** A ticket key (K) is 32 bytes. */
export const TICKET_KEY_BYTES = 32;

export interface Ticket {
  /** Last day (days since the epoch, UTC) on which the ticket is accepted. */
  expDay: number;
  keyId: number;
  nonce: Uint8Array;
  mac: Uint8Array;
}

/** The 32 raw bytes of a drop ID. @throws RangeError for an invalid drop ID */
export function dropIdBytes(dropId: string): Uint8Array {
  if (!isValidDropId(dropId)) throw new RangeError('not a drop ID');
  return fromBase64Url(dropId);
}

/** What the MAC covers: dropId (32) || exp_day (2, big-endian) || key_id (1) || nonce (13). */
export function ticketMacInput(dropId: Uint8Array, expDay: number, keyId: number, nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(32 + 3 + TICKET_NONCE_BYTES);
  out.set(dropId, 0);
  out[32] = (expDay >> 8) & 0xff;
  out[33] = expDay & 0xff;
  out[34] = keyId & 0xff;
  out.set(nonce, 35);
  return out;
}

export function encodeTicket(ticket: Ticket): Uint8Array {
  if (!Number.isInteger(ticket.expDay) || ticket.expDay < 0 || ticket.expDay > 0xffff) throw new RangeError('exp_day must fit in 16 bits');
  if (!Number.isInteger(ticket.keyId) || ticket.keyId < 0 || ticket.keyId > 0xff) throw new RangeError('key_id must fit in 8 bits');
  if (ticket.nonce.length !== TICKET_NONCE_BYTES || ticket.mac.length < TICKET_MAC_BYTES) throw new RangeError('bad nonce or mac length');
  const out = new Uint8Array(TICKET_BYTES);
  out[0] = ticket.expDay >> 8;
  out[1] = ticket.expDay & 0xff;
  out[2] = ticket.keyId;
  out.set(ticket.nonce, 3);
  out.set(ticket.mac.subarray(0, TICKET_MAC_BYTES), 3 + TICKET_NONCE_BYTES);
  return out;
}

/** The parts of a 32-byte ticket (views into `bytes`); null for another length. */
export function decodeTicket(bytes: Uint8Array): Ticket | null {
  if (bytes.length !== TICKET_BYTES) return null;
  return {
    expDay: (bytes[0]! << 8) | bytes[1]!,
    keyId: bytes[2]!,
    nonce: bytes.subarray(3, 3 + TICKET_NONCE_BYTES),
    mac: bytes.subarray(3 + TICKET_NONCE_BYTES),
  };
}

/** A ticket from its header text; null for anything that is not base64url of exactly 32 bytes. */
export function parseTicketHeader(text: string | undefined): Ticket | null {
  if (text === undefined || text.length !== 43) return null;
  try {
    return decodeTicket(fromBase64Url(text));
  } catch {
    return null;
  }
}

export function formatTicketHeader(ticket: Uint8Array): string {
  return toBase64Url(ticket);
}
