/** Checks a proof-of-work stamp (shared/spam/stamp.ts): two SHA-256, about 15 us for a PDU. */
import { createHash } from 'node:crypto';
import { STAMP_WINDOW_S, leadingZeroBits, stampPrefix, type Stamp } from '../../shared/spam/stamp.js';

/** True when the stamp is within its time window and its hash has at least `bits` leading zero bits. */
export function stampIsValid(dropIdBytes: Uint8Array, body: Uint8Array, stamp: Stamp, bits: number, nowMs: number): boolean {
  if (Math.abs(nowMs / 1000 - stamp.time) > STAMP_WINDOW_S) return false;
  const pduHash = createHash('sha256').update(body).digest();
  const hash = createHash('sha256').update(stampPrefix(dropIdBytes, stamp.time, pduHash, stamp.nonce)).update(stamp.counter).digest();
  return leadingZeroBits(hash) >= bits;
}
