/**
 * The version-1 Init check inside the v0 trial (PROTOCOL-V1.md 1c "Receiver algorithm"): a v1 Init PDU
 * and a v0 box both start with an ephemeral key E at bytes 1..33, so the one X25519 per identity the v0
 * trial pays, dh1 = X25519(IK_B, E), also keys the Init tag:
 *
 *   T_init = HMAC-SHA256(key = dh1, "DD1 init tag" || E || IK_B)[0..16]
 *
 * A PDU no v0 identity opened costs this one HMAC per identity more; one whose bytes 33..49 are T_init
 * goes back to the engine with dh1, which opens the rest with the ratchet library (`openInitWithDh`).
 * The derivation is the library's (electron/core/v1/session.ts `initTag`), repeated here because
 * workers may not import the engine; test/engine/protocolV1.test.ts opens Init PDUs the library sealed
 * through this check.
 */
import { createHmac } from 'node:crypto';

const LABEL = Buffer.from('DD1 init tag', 'latin1');
const OFF_E = 1;
const OFF_T = 33;
const TAG_LENGTH = 16;

/**
 * True when `pdu`'s tag is the Init tag of an Init PDU sealed to `ourPublic` (given dh1 with its E).
 * A tag is not secret (it is on the wire), so a plain comparison is fine.
 */
export function isInitTag(dh1: Uint8Array, pdu: Uint8Array, ourPublic: Uint8Array): boolean {
  const tag = createHmac('sha256', dh1).update(LABEL).update(pdu.subarray(OFF_E, OFF_T)).update(ourPublic).digest();
  return Buffer.from(pdu.buffer, pdu.byteOffset + OFF_T, TAG_LENGTH).equals(tag.subarray(0, TAG_LENGTH));
}
