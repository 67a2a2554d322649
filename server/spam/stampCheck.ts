/**
 * Checks a proof-of-work stamp (shared/spam/stamp.ts): two SHA-256, a few microseconds for a PDU.
 * The hashed input is written straight into one buffer (the layout of `stampPrefix` followed by the
 * counter) instead of through the shared helper's intermediate arrays: this runs on every stamped
 * POST of a server under pressure, and the check is the same (drop, PDU hash, time, nonce, counter).
 */
import { hash } from 'node:crypto';
import { STAMP_PREFIX_BYTES, STAMP_WINDOW_S, leadingZeroBits, type Stamp } from '../../shared/spam/stamp.js';

const DOMAIN = Buffer.from('DD-POW1');

/** True when the stamp is within its time window and its hash has at least `bits` leading zero bits. */
export function stampIsValid(dropIdBytes: Uint8Array, body: Uint8Array, stamp: Stamp, bits: number, nowMs: number): boolean {
  if (Math.abs(nowMs / 1000 - stamp.time) > STAMP_WINDOW_S) return false;
  if (dropIdBytes.length !== 32 || stamp.nonce.length !== 16 || stamp.counter.length !== 8) return false;
  const input = Buffer.allocUnsafe(STAMP_PREFIX_BYTES + 8);
  let o = DOMAIN.copy(input, 0);
  input.set(dropIdBytes, o);
  o = input.writeUInt32BE(stamp.time >>> 0, o + 32);
  // One-shot hashes: half the time of a Hash object for inputs this small.
  input.set(hash('sha256', body, 'buffer') as Buffer, o);
  input.set(stamp.nonce, o + 32);
  input.set(stamp.counter, o + 48);
  return leadingZeroBits(hash('sha256', input, 'buffer') as Buffer) >= bits;
}
