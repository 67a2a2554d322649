/**
 * The keys and PDUs of a device link (shared/protocol/deviceLink.ts). Both devices make a one-time
 * X25519 key pair; the offering device's public key travels in the QR code (out of band, so the joiner
 * knows it is talking to the right device), the joiner's in its hello. From their X25519 secret come
 * one AES-256-GCM key per direction and the short authentication string: the six digits both users
 * compare, which is what authenticates the joiner to the offering device (someone who saw the QR code
 * and answered first would show other digits, and the user says no).
 *
 * Every PDU is 2149 bytes, `0x00 · R · AES-256-GCM(frame)`, like any other drop traffic: R is the
 * joiner's public key in its hello and 32 random bytes otherwise; the GCM nonce is derived from R, and
 * version byte and R are the associated data.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes as nodeRandomBytes } from 'node:crypto';
import { PDU_LENGTH } from '../../../shared/protocol/boxTypes.js';
import {
  LINK_CIPHERTEXT_OFFSET,
  LINK_FRAME_LENGTH,
  LINK_R_LENGTH,
  LINK_R_OFFSET,
  LINK_TAG_LENGTH,
  type LinkFrame,
  decodeLinkFrame,
  encodeLinkFrame,
  sasDigits,
} from '../../../shared/protocol/deviceLink.js';
import { type RawKeyPair, generateKeyPair, x25519 } from '../v1/primitives.js';

export interface LinkKeys {
  /** Seals what the joining device sends. */
  fromJoiner: Buffer;
  /** Seals what the offering device sends. */
  fromOfferer: Buffer;
  /** The six digits both screens show. */
  code: string;
}

export function newLinkKeyPair(): RawKeyPair {
  return generateKeyPair();
}

/**
 * The link's keys from our key pair and the other device's public key; null for a key that is no
 * usable X25519 key (low order), which is hostile input.
 */
export function deriveLinkKeys(ours: RawKeyPair, theirs: Uint8Array, offererPublic: Uint8Array, joinerPublic: Uint8Array): LinkKeys | null {
  const secret = x25519(ours, theirs);
  if (!secret) return null;
  const salt = Buffer.concat([offererPublic, joinerPublic]);
  const okm = Buffer.from(hkdfSync('sha256', secret, salt, 'DD link v1 keys', 64));
  const sas = Buffer.from(hkdfSync('sha256', secret, salt, 'DD link v1 sas', 4));
  secret.fill(0);
  return { fromJoiner: okm.subarray(0, 32), fromOfferer: okm.subarray(32, 64), code: sasDigits(sas) };
}

function nonceOf(r: Uint8Array): Buffer {
  return createHash('sha256').update('DD link nonce').update(r).digest().subarray(0, 12);
}

/** Seals one frame; `r` is the joiner's public key for its hello, fresh random bytes otherwise. */
export function sealLinkPdu(key: Uint8Array, frame: LinkFrame, r: Uint8Array = nodeRandomBytes(LINK_R_LENGTH)): Buffer {
  if (r.length !== LINK_R_LENGTH) throw new RangeError('R is 32 bytes');
  const head = Buffer.concat([Buffer.of(0), r]);
  const cipher = createCipheriv('aes-256-gcm', key, nonceOf(r));
  cipher.setAAD(head);
  const pdu = Buffer.concat([head, cipher.update(encodeLinkFrame(frame)), cipher.final(), cipher.getAuthTag()]);
  if (pdu.length !== PDU_LENGTH) throw new Error('a link PDU came out at the wrong length');
  return pdu;
}

/** The R of a PDU (the joiner's key in a hello); null when it is no PDU at all. */
export function rOf(pdu: Uint8Array): Uint8Array | null {
  if (pdu.length !== PDU_LENGTH || pdu[0] !== 0) return null;
  return pdu.subarray(LINK_R_OFFSET, LINK_R_OFFSET + LINK_R_LENGTH);
}

/**
 * Opens a PDU sealed under `key`: null when it was not (another key, or altered on the way).
 * @throws ProtocolError when it opens but holds a frame no sender of this version writes
 */
export function openLinkPdu(key: Uint8Array, pdu: Uint8Array): LinkFrame | null {
  const r = rOf(pdu);
  if (!r) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(r));
  decipher.setAAD(pdu.subarray(0, LINK_CIPHERTEXT_OFFSET));
  decipher.setAuthTag(pdu.subarray(PDU_LENGTH - LINK_TAG_LENGTH));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(pdu.subarray(LINK_CIPHERTEXT_OFFSET, PDU_LENGTH - LINK_TAG_LENGTH)), decipher.final()]);
  } catch {
    return null;
  }
  if (plain.length !== LINK_FRAME_LENGTH) return null;
  return decodeLinkFrame(plain);
}

/** A PDU's fingerprint, to know our own PDUs and repeats among what the drop returns. */
export function pduHash(pdu: Uint8Array): string {
  return createHash('sha256').update(pdu).digest('base64url');
}
