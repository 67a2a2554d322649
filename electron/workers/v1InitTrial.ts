/**
 * The version-1 Init check inside the v0 trial (PROTOCOL-V1.md 1c "Receiver algorithm"): a v1 Init PDU
 * and a v0 box both start with an ephemeral key E at bytes 1..33, so the one X25519 per identity the v0
 * trial pays, dh1 = X25519(IK_B, E), also keys the Init tag:
 *
 *   K_i = HKDF-SHA256(ikm = dh1, salt = E || IK_B, info "DD1 init", 32);  T_init = HMAC(K_i, "DD1 init")[0..16]
 *
 * A PDU no v0 identity opened costs this one HKDF + HMAC per identity more; one whose bytes 33..49 are
 * T_init goes back to the engine with dh1, which opens the rest with the ratchet library
 * (`openInitWithDh`). The derivation is the library's (electron/core/v1/session.ts `initKeys`), repeated
 * here because workers may not import the engine; test/engine/protocolV1.test.ts opens Init PDUs the
 * library sealed through this check.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const LABEL = Buffer.from('DD1 init', 'latin1');
const OFF_E = 1;
const OFF_T = 33;
const TAG_LENGTH = 16;

/** True when `pdu`'s tag is the Init tag of an Init PDU sealed to `ourPublic` (given dh1 with its E). */
export function isInitTag(dh1: Uint8Array, pdu: Uint8Array, ourPublic: Uint8Array): boolean {
  const salt = Buffer.concat([pdu.subarray(OFF_E, OFF_T), ourPublic]);
  const ki = Buffer.from(hkdfSync('sha256', dh1, salt, LABEL, 32));
  const tag = createHmac('sha256', ki).update(LABEL).digest().subarray(0, TAG_LENGTH);
  return timingSafeEqual(tag, pdu.subarray(OFF_T, OFF_T + TAG_LENGTH));
}
