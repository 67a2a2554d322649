/**
 * A cover PDU (PROTOCOL-V1.md 4c): the shape of a real one (byte 0 = 0x00, a fresh X25519 public
 * key, then random bytes to 2149), so nobody who sees it, the server included, can tell it from mail
 * by its bytes. It is posted with `X-Qabel-Cover: 1` and discarded by the server.
 */
import { randomFillSync } from 'node:crypto';
import { PDU_BYTES } from '../../../shared/budget/model.js';
import { generateEphemeral } from '../v1/primitives.js';

export function coverPdu(): Uint8Array {
  const pdu = new Uint8Array(PDU_BYTES);
  // A real public key: random 32 bytes would differ from one in the top bit and in being on the curve.
  pdu.set(generateEphemeral().publicKey, 1);
  randomFillSync(pdu, 33);
  return pdu;
}
