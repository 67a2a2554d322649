/**
 * Proof-of-work stamps (PROTOCOL-V1 section 3c L2, Qabel's hashcash made concrete): header
 * `X-Drop-PoW: base64url(time u32 · nonce 16 · counter u64)`, valid when
 * `SHA-256("DD-POW1" || dropId || time || SHA-256(PDU) || nonce || counter)` has at least `bits`
 * leading zero bits, `|now - time| <= 300 s`, and the server has not seen (dropId, nonce) in the last
 * 600 s. The stamp is bound to one drop, one PDU and one time, so it cannot be reused elsewhere.
 * Layouts only: hashing is the caller's (the server's node:crypto, the client's stamp worker).
 */
import { fromBase64Url, toBase64Url } from '../protocol/encoding.js';

export const STAMP_BYTES = 4 + 16 + 8;
export const STAMP_NONCE_BYTES = 16;
/** A stamp's time may differ from the server's clock by this much. */
export const STAMP_WINDOW_S = 300;
/** The server remembers a stamp's nonce this long (two windows), so it is accepted once. */
export const STAMP_REPLAY_S = 600;
const DOMAIN = new TextEncoder().encode('DD-POW1');
/** Length of the hashed input before the counter. */
export const STAMP_PREFIX_BYTES = DOMAIN.length + 32 + 4 + 32 + STAMP_NONCE_BYTES;

export interface Stamp {
  /** Seconds since the epoch. */
  time: number;
  nonce: Uint8Array;
  /** The counter as 8 big-endian bytes (a JS number cannot hold every u64). */
  counter: Uint8Array;
}

/** The hashed input without the counter: "DD-POW1" || dropId (32) || time (4) || SHA-256(PDU) (32) || nonce (16). */
export function stampPrefix(dropId: Uint8Array, time: number, pduHash: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (dropId.length !== 32 || pduHash.length !== 32 || nonce.length !== STAMP_NONCE_BYTES) throw new RangeError('bad stamp input lengths');
  const out = new Uint8Array(STAMP_PREFIX_BYTES + 8);
  let o = 0;
  out.set(DOMAIN, o);
  o += DOMAIN.length;
  out.set(dropId, o);
  o += 32;
  new DataView(out.buffer).setUint32(o, time >>> 0);
  o += 4;
  out.set(pduHash, o);
  o += 32;
  out.set(nonce, o);
  return out.subarray(0, STAMP_PREFIX_BYTES);
}

/** Leading zero bits of a hash. */
export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

export function encodeStamp(stamp: Stamp): Uint8Array {
  if (stamp.nonce.length !== STAMP_NONCE_BYTES || stamp.counter.length !== 8) throw new RangeError('bad stamp lengths');
  const out = new Uint8Array(STAMP_BYTES);
  new DataView(out.buffer).setUint32(0, stamp.time >>> 0);
  out.set(stamp.nonce, 4);
  out.set(stamp.counter, 20);
  return out;
}

export function decodeStamp(bytes: Uint8Array): Stamp | null {
  if (bytes.length !== STAMP_BYTES) return null;
  return {
    time: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0),
    nonce: bytes.subarray(4, 20),
    counter: bytes.subarray(20, 28),
  };
}

/** A stamp from its header text; null for anything that is not base64url of exactly 28 bytes. */
export function parseStampHeader(text: string | undefined): Stamp | null {
  if (text === undefined || text.length !== 38) return null;
  try {
    return decodeStamp(fromBase64Url(text));
  } catch {
    return null;
  }
}

export function formatStampHeader(stamp: Stamp): string {
  return toBase64Url(encodeStamp(stamp));
}

/** Expected hashes for a stamp of `bits` bits (the mean of the geometric distribution). */
export function expectedHashes(bits: number): number {
  return 2 ** bits;
}
