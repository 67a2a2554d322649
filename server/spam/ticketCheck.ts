/**
 * Checks a one-time ticket's MAC and expiry (shared/spam/ticket.ts); the spent set is the store's.
 * This runs on every ticketed POST, so it allocates nothing but the nonce it returns: the header is
 * decoded into a scratch buffer, and the HMAC is computed as its definition (RFC 2104),
 * SHA-256((K ^ opad) || SHA-256((K ^ ipad) || input)), with two one-shot hashes over pads made once
 * per key: a `createHmac` object per request cost a stream object, a key object and a few buffers.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { TICKET_BYTES, TICKET_MAC_BYTES, TICKET_NONCE_BYTES } from '../../shared/spam/ticket.js';

const BLOCK = 64;
const SHA256_BYTES = 32;
/** A ticket as the header carries it: 43 base64url characters of which the last has its 2 spare bits zero. */
const TICKET_TEXT = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** The key XOR ipad and XOR opad, each one block, made once per key (the policy book keeps the keys). */
const pads = new WeakMap<Buffer, { inner: Buffer; outer: Buffer }>();
function padsOf(key: Buffer): { inner: Buffer; outer: Buffer } {
  let p = pads.get(key);
  if (!p) {
    const k = key.length > BLOCK ? (hash('sha256', key, 'buffer') as Buffer) : key;
    const inner = Buffer.alloc(BLOCK, 0x36);
    const outer = Buffer.alloc(BLOCK, 0x5c);
    for (let i = 0; i < k.length; i++) {
      inner[i]! ^= k[i]!;
      outer[i]! ^= k[i]!;
    }
    p = { inner, outer };
    pads.set(key, p);
  }
  return p;
}

const ticketBytes = Buffer.alloc(TICKET_BYTES);
/** (K ^ ipad) || dropId (32) || exp_day (2) || key_id (1) || nonce (13): `ticketMacInput` after the pad. */
const innerInput = Buffer.alloc(BLOCK + 32 + 3 + TICKET_NONCE_BYTES);
const outerInput = Buffer.alloc(BLOCK + SHA256_BYTES);

export interface ValidTicket {
  expDay: number;
  /** A copy of the ticket's nonce (the store's spent set). */
  nonce: Buffer;
}

/**
 * The ticket in `header` when it names a key of the drop, is not past its day and its MAC is right;
 * null otherwise (missing, malformed, unknown key, expired or forged).
 */
export function validTicket(header: string | undefined, dropIdBytes: Uint8Array, keys: ReadonlyMap<number, Buffer>, today: number): ValidTicket | null {
  if (header === undefined || !TICKET_TEXT.test(header)) return null;
  if (ticketBytes.write(header, 'base64url') !== TICKET_BYTES || dropIdBytes.length !== 32) return null;
  const expDay = (ticketBytes[0]! << 8) | ticketBytes[1]!;
  if (expDay < today) return null;
  const key = keys.get(ticketBytes[2]!);
  if (!key) return null;
  const { inner, outer } = padsOf(key);
  inner.copy(innerInput, 0);
  innerInput.set(dropIdBytes, BLOCK);
  ticketBytes.copy(innerInput, BLOCK + 32, 0, 3 + TICKET_NONCE_BYTES);
  outer.copy(outerInput, 0);
  outerInput.set(hash('sha256', innerInput, 'buffer') as Buffer, BLOCK);
  const mac = (hash('sha256', outerInput, 'buffer') as Buffer).subarray(0, TICKET_MAC_BYTES);
  if (!timingSafeEqual(mac, ticketBytes.subarray(3 + TICKET_NONCE_BYTES))) return null;
  return { expDay, nonce: Buffer.from(ticketBytes.subarray(3, 3 + TICKET_NONCE_BYTES)) };
}
