/**
 * The anti-spam extensions of the drop server (PROTOCOL-V1 section 3c): header names, error texts and
 * the discovery fields, shared by the server and the client library. Original Qabel clients never
 * send these headers; on an open drop that is not under pressure they see exactly the old protocol.
 */

/** A one-time ticket for a closed drop: base64url of 32 bytes (`ticket.ts`). */
export const TICKET_HEADER = 'X-Drop-Ticket';
/** A proof-of-work stamp: base64url of 28 bytes (`stamp.ts`). */
export const POW_HEADER = 'X-Drop-PoW';
/** On a 429 or 401: the leading zero bits a stamp needs for this drop now. */
export const POW_BITS_HEADER = 'X-Drop-PoW-Bits';

/** The error texts of the JSON error bodies (`{"error": ...}`), which clients compare exactly. */
export const SPAM_ERRORS = {
  /** 401: a closed drop, and neither a valid ticket nor (within the introduction quota) a stamp. */
  ticketRequired: 'Ticket required',
  /** 409: the ticket's nonce is in the drop's spent set (used, or struck by the owner). */
  ticketSpent: 'Ticket spent',
  /** 429: a stamp of `X-Drop-PoW-Bits` bits is needed (missing, too weak, out of its time window, or used). */
  powRequired: 'Proof of work required',
  /** 429: the closed drop took its `intro_per_day` ticketless messages today (UTC). */
  introQuota: 'Introduction quota reached',
  /** 429: an open drop under pressure took its hourly share of ticketless messages. */
  dropRate: 'Too many messages for this drop',
  /** 507: the server is nearly full and keeps the rest for ticketed mail. */
  serverFull: 'Server is full',
} as const;

/** The `pow` object of `GET <servicepath>/.well-known/deaddrop`. */
export interface PowAnnouncement {
  alg: 'sha256';
  /** Bits a stamp needs for an introduction into a closed drop (open drops under pressure may ask more). */
  bits: number;
  /** A stamp's time may be this many seconds away from the server's clock. */
  window_s: number;
}

/** The anti-spam part of the discovery document. */
export interface SpamDiscovery {
  features: string[];
  pow?: PowAnnouncement;
  intro_per_day?: number;
}

/** Whether a server's discovery document offers closed drops with tickets. */
export function offersTickets(discovery: SpamDiscovery): boolean {
  return Array.isArray(discovery.features) && discovery.features.includes('tickets');
}

/** Whether a server's discovery document offers proof-of-work stamps (and so may ask for them). */
export function offersPow(discovery: SpamDiscovery): boolean {
  return Array.isArray(discovery.features) && discovery.features.includes('pow');
}
