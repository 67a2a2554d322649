/** Checks a proof-of-work stamp (shared/spam/stamp.ts): two SHA-256, about 15 us for a PDU. */
import { hash } from 'node:crypto';
import { STAMP_WINDOW_S, leadingZeroBits, stampPrefix, type Stamp } from '../../shared/spam/stamp.js';

/** True when the stamp is within its time window and its hash has at least `bits` leading zero bits. */
export function stampIsValid(dropIdBytes: Uint8Array, body: Uint8Array, stamp: Stamp, bits: number, nowMs: number): boolean {
  if (Math.abs(nowMs / 1000 - stamp.time) > STAMP_WINDOW_S) return false;
  // One-shot hashes: half the time of a Hash object for inputs this small.
  const pduHash = hash('sha256', body, 'buffer') as Buffer;
  const prefix = stampPrefix(dropIdBytes, stamp.time, pduHash, stamp.nonce);
  const input = Buffer.allocUnsafe(prefix.length + stamp.counter.length);
  input.set(prefix, 0);
  input.set(stamp.counter, prefix.length);
  return leadingZeroBits(hash('sha256', input, 'buffer') as Buffer) >= bits;
}
