/**
 * The version-0 box (PROTOCOL.md section 3) on node:crypto: the crypto worker's fast backend.
 * Same `BoxBackend` contract and known answers as the portable backend in shared/protocol/box.ts.
 *
 * Speed notes (trial decryption is the hot path: every PDU in a drop costs one X25519 per identity):
 * - X25519 key objects are imported from JWK, which is an order of magnitude cheaper than DER.
 * - Identity keys are imported once per batch; the ephemeral key once per PDU, shared by all identities.
 * - A failed GCM tag means "not for us"; Node reports it by throwing, so the throw is made without a
 *   stack trace (see `gcmOpen`).
 */
import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
} from 'node:crypto';
import {
  type BoxBackend,
  type KeyPair,
  type OpenedBox,
  PAYLOAD_LENGTH,
  PDU_LENGTH,
  PDU_VERSION_0,
  type TrialHit,
  BOX_CHAIN_LENGTH,
  BOX_GCM_TAG_LENGTH,
  BOX_HEADER_LENGTH,
  BOX_KDF_LENGTH,
  BOX_KEY_LENGTH,
  BOX_SUITE,
} from '../../shared/protocol/boxTypes.js';
import { isInitTag } from './v1InitTrial.js';

const KEY_LENGTH = BOX_KEY_LENGTH;
const TAG_LENGTH = BOX_GCM_TAG_LENGTH;
const HEADER_LENGTH = BOX_HEADER_LENGTH;
const KDF_LENGTH = BOX_KDF_LENGTH;
const SUITE = Buffer.from(BOX_SUITE);
const INFO_HEADER = Buffer.concat([SUITE, Buffer.from([0])]);
const INFO_BODY = Buffer.concat([SUITE, Buffer.from([1])]);
const ZERO_CHAIN = Buffer.alloc(BOX_CHAIN_LENGTH);
const kdfScratch = Buffer.alloc(INFO_HEADER.length + 1 + 32 + ZERO_CHAIN.length);

/** An identity's keys imported for node:crypto. */
export interface PreparedIdentity {
  publicKey: Buffer;
  privateKey: KeyObject;
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Imports a raw 32-byte X25519 public key. */
export function importPublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: asBuffer(raw).toString('base64url') }, format: 'jwk' });
}

/** Imports a raw key pair (JWK needs the public half too). */
export function prepareIdentity(pair: KeyPair): PreparedIdentity {
  const jwk = {
    kty: 'OKP',
    crv: 'X25519',
    x: asBuffer(pair.publicKey).toString('base64url'),
    d: asBuffer(pair.privateKey).toString('base64url'),
  };
  return { publicKey: Buffer.from(pair.publicKey), privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) };
}

/** The protocol's KDF (not RFC 5869 HKDF): chained HMAC-SHA512 blocks, one `update` per block. */
export function nativeKdf(secret: Uint8Array, extra: Uint8Array, info: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(length / 64) * 64);
  // Block input: info || byte(counter) || t[0..32) || extra, with t = 64 zero bytes for the first block.
  // The box always uses the same sizes: one scratch buffer (this code is synchronous) spares the GC.
  const size = info.length + 1 + 32 + extra.length;
  const input = size === kdfScratch.length ? kdfScratch.fill(0, info.length + 1, info.length + 33) : Buffer.alloc(size);
  input.set(info, 0);
  input.set(extra, info.length + 33);
  for (let counter = 0, offset = 0; offset < length; counter++, offset += 64) {
    input[info.length] = counter;
    if (counter > 0) out.copy(input, info.length + 1, offset - 64, offset - 32);
    createHmac('sha512', secret).update(input).digest().copy(out, offset);
  }
  return out.subarray(0, length);
}

function gcmSeal(key: Buffer, nonce: Buffer, plaintext: Uint8Array, aad: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** AES-256-GCM open; null on a bad tag. Node signals that by throwing, so no stack is captured. */
function gcmOpen(key: Buffer, nonce: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < TAG_LENGTH) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    decipher.final();
    return plain;
  } catch {
    return null;
  } finally {
    Error.stackTraceLimit = savedLimit;
  }
}

/** X25519; null for low-order points (node:crypto refuses an all-zero shared secret): hostile input. */
function dh(privateKey: KeyObject, publicKey: KeyObject): Buffer | null {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch {
    return null;
  }
}

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * The RFC 7748 section 6.1 key pair (Alice's): the load-time check that a private JWK import derives
 * the public half from `d` (see `jwkImportDerivesPublic`).
 */
const VECTOR_PRIVATE = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const VECTOR_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
/** The placeholder public half of a private JWK import: JWK wants `x`, OpenSSL 3 does not read it. */
const UNREAD_X = Buffer.alloc(KEY_LENGTH).toString('base64url');

function importPrivateJwk(privateKey: Buffer): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: privateKey.toString('base64url'), x: UNREAD_X }, format: 'jwk' });
}

function importPrivateDer(privateKey: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privateKey]), format: 'der', type: 'pkcs8' });
}

/**
 * Whether a private JWK import with a placeholder `x` gives the key of `d` (its public half derived
 * from `d`, not taken from `x`): checked once against a known key pair. Were some Node or OpenSSL to
 * keep the placeholder as the public half, every PDU sealed with such a key would name a wrong `E` and
 * open nowhere; the PKCS#8 import, ten times dearer, is then used instead.
 */
export function jwkImportDerivesPublic(importJwk: (privateKey: Buffer) => KeyObject = importPrivateJwk): boolean {
  try {
    const x = importJwk(VECTOR_PRIVATE).export({ format: 'jwk' }).x;
    return typeof x === 'string' && Buffer.from(x, 'base64url').equals(VECTOR_PUBLIC);
  } catch {
    return false;
  }
}

const importEphemeral = jwkImportDerivesPublic() ? importPrivateJwk : importPrivateDer;

/** A PDU's one-use key: the private key object and its raw public half (the header's `E`). */
export interface NativeEphemeral {
  privateKey: KeyObject;
  publicKey: Buffer;
}

/**
 * A one-use X25519 key from 32 CSPRNG bytes, never through `generateKeyPairSync`: on Node 20 a key pair
 * job collected during a JWK export of the same key locks its mutex twice and the thread hangs for ever
 * (electron/core/v1/primitives.ts `freshX25519`, which this worker cannot import). Imported from JWK
 * like primitives.ts does (a PKCS#8 import goes through OpenSSL 3's decoder framework, about ten times
 * dearer, and every sealed PDU makes one); its public half is read back from the key's JWK export.
 */
export function freshEphemeral(): NativeEphemeral {
  const privateKey = importEphemeral(randomBytes(KEY_LENGTH));
  const x = privateKey.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('X25519 key export gave no public half');
  return { privateKey, publicKey: Buffer.from(x, 'base64url') };
}

/**
 * Seals `plaintext` (any length, padLen 0) from `sender` to `recipientPublicKey`: header || body.
 * `makeEphemeral` draws a fresh one-use key for each call (bench:ratchet passes a PKCS#8 one as the
 * baseline of its v0 seal row).
 */
export function sealNativeBox(sender: PreparedIdentity, recipientPublicKey: Uint8Array, plaintext: Uint8Array, makeEphemeral: () => NativeEphemeral = freshEphemeral): Buffer {
  const recipient = importPublicKey(recipientPublicKey);
  const recipientRaw = asBuffer(recipientPublicKey);
  const ephemeral = makeEphemeral();
  const ephemeralRaw = ephemeral.publicKey;
  const shared1 = dh(ephemeral.privateKey, recipient);
  const shared2 = dh(sender.privateKey, recipient);
  if (!shared1 || !shared2) throw new RangeError('The recipient public key is not a usable X25519 key.');
  const k1 = nativeKdf(shared1, ZERO_CHAIN, INFO_HEADER, KDF_LENGTH);
  const header = Buffer.concat([
    ephemeralRaw,
    gcmSeal(k1.subarray(48, 80), k1.subarray(80, 92), sender.publicKey, Buffer.concat([recipientRaw, ephemeralRaw])),
  ]);
  const k2 = nativeKdf(shared2, k1.subarray(0, 48), INFO_BODY, KDF_LENGTH);
  const padLength = Buffer.alloc(4);
  const body = gcmSeal(
    k2.subarray(48, 80),
    k2.subarray(80, 92),
    Buffer.concat([plaintext, padLength]),
    Buffer.concat([recipientRaw, header]),
  );
  return Buffer.concat([header, body]);
}

/**
 * Opens a box as `recipient`. `ephemeral` may be passed in when the caller already imported the
 * header's ephemeral key (trial decryption against several identities). Null when not for us or broken.
 */
export function openNativeBox(recipient: PreparedIdentity, box: Uint8Array, ephemeral?: KeyObject): OpenedBox | null {
  if (box.length < HEADER_LENGTH + TAG_LENGTH + 4) return null;
  const shared1 = dh(recipient.privateKey, ephemeral ?? importPublicKey(box.subarray(0, KEY_LENGTH)));
  return shared1 ? openWithShared(recipient, box, shared1) : null;
}

/** `openNativeBox` with shared1 = X25519(recipient, E) already computed (the trial shares it with the v1 Init check). */
function openWithShared(recipient: PreparedIdentity, box: Uint8Array, shared1: Buffer): OpenedBox | null {
  if (box.length < HEADER_LENGTH + TAG_LENGTH + 4) return null;
  const bytes = asBuffer(box);
  const header = openHeader(recipient, bytes, shared1);
  if (!header) return null;
  const shared2 = dh(recipient.privateKey, importPublicKey(header.senderRaw));
  if (!shared2) return null;
  const k2 = nativeKdf(shared2, header.chain, INFO_BODY, KDF_LENGTH);
  const plain = gcmOpen(
    k2.subarray(48, 80),
    k2.subarray(80, 92),
    bytes.subarray(HEADER_LENGTH),
    Buffer.concat([recipient.publicKey, bytes.subarray(0, HEADER_LENGTH)]),
  );
  if (!plain || plain.length < 4) return null;
  const padLength = plain.readInt32BE(plain.length - 4);
  if (padLength < 0 || padLength > plain.length - 4) return null;
  return {
    senderPublicKey: new Uint8Array(header.senderRaw),
    payload: new Uint8Array(plain.subarray(0, plain.length - 4 - padLength)),
  };
}

/** Header AAD scratch (R.pub || E.pub): the trial path is synchronous, so one buffer serves every call. */
const headerAad = Buffer.alloc(2 * KEY_LENGTH);

/** Step 2 of the box: the sender key, or null when the box is not for `recipient` (the trial-decryption hot path). */
function openHeader(recipient: PreparedIdentity, box: Buffer, shared1: Buffer): { senderRaw: Buffer; chain: Buffer } | null {
  const k1 = nativeKdf(shared1, ZERO_CHAIN, INFO_HEADER, KDF_LENGTH);
  recipient.publicKey.copy(headerAad, 0);
  box.copy(headerAad, KEY_LENGTH, 0, KEY_LENGTH);
  const senderRaw = gcmOpen(k1.subarray(48, 80), k1.subarray(80, 92), box.subarray(KEY_LENGTH, HEADER_LENGTH), headerAad);
  return senderRaw ? { senderRaw, chain: k1.subarray(0, 48) } : null;
}

function isPdu(pdu: Uint8Array): boolean {
  return pdu.length === PDU_LENGTH && pdu[0] === PDU_VERSION_0;
}

/**
 * Trial-opens each PDU against every prepared identity; the ephemeral key is imported once per PDU.
 * PDUs of the wrong length or version, or for nobody here, give null.
 */
export function trialOpenPrepared(identities: readonly PreparedIdentity[], pdus: readonly Uint8Array[]): (TrialHit | null)[] {
  return trialOpenWithInits(identities, pdus, false).hits;
}

/** A PDU no v0 box opened whose tag is a version-1 Init tag for an identity: its dh1 for the engine. */
export interface InitCandidate {
  identityIndex: number;
  dh1: Uint8Array;
}

/**
 * `trialOpenPrepared`, and for each PDU no identity opened, the version-1 Init candidate it is (or null):
 * the same X25519 per identity serves both (v1InitTrial.ts). `withInits` false: the v0 trial alone.
 */
export function trialOpenWithInits(
  identities: readonly PreparedIdentity[],
  pdus: readonly Uint8Array[],
  withInits = true,
): { hits: (TrialHit | null)[]; inits: (InitCandidate | null)[] } {
  const hits: (TrialHit | null)[] = [];
  const inits: (InitCandidate | null)[] = [];
  for (const pdu of pdus) {
    hits.push(null);
    inits.push(null);
    if (!isPdu(pdu) || identities.length === 0) continue;
    const box = pdu.subarray(1);
    let ephemeral: KeyObject;
    try {
      ephemeral = importPublicKey(box.subarray(0, KEY_LENGTH));
    } catch {
      continue; // not a valid curve point encoding: noise
    }
    const shared: (Buffer | null)[] = [];
    for (let i = 0; i < identities.length; i++) {
      const shared1 = dh(identities[i]!.privateKey, ephemeral);
      shared.push(shared1);
      const opened = shared1 ? openWithShared(identities[i]!, box, shared1) : null;
      if (opened) {
        hits[hits.length - 1] = { identityIndex: i, opened };
        break;
      }
    }
    if (hits[hits.length - 1] || !withInits) continue;
    for (let i = 0; i < identities.length; i++) {
      const shared1 = shared[i];
      if (shared1 && isInitTag(shared1, pdu, identities[i]!.publicKey)) {
        inits[inits.length - 1] = { identityIndex: i, dh1: new Uint8Array(shared1) };
        break;
      }
    }
  }
  return { hits, inits };
}

/** The `BoxBackend` contract on node:crypto. */
export const nativeBox: BoxBackend = {
  async sealPdu(sender, recipientPublicKey, payload) {
    if (payload.length !== PAYLOAD_LENGTH) throw new RangeError(`A PDU payload must be exactly ${PAYLOAD_LENGTH} bytes.`);
    const box = sealNativeBox(prepareIdentity(sender), recipientPublicKey, payload);
    const pdu = new Uint8Array(PDU_LENGTH);
    pdu[0] = PDU_VERSION_0;
    pdu.set(box, 1);
    return pdu;
  },
  async openPdu(recipient, pdu) {
    return isPdu(pdu) ? openNativeBox(prepareIdentity(recipient), pdu.subarray(1)) : null;
  },
  async trialOpen(identities, pdus) {
    return trialOpenPrepared(identities.map(prepareIdentity), pdus);
  },
};
