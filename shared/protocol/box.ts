/**
 * The version-0 "Noise box" of PROTOCOL.md section 3, portable backend: X25519 from libsodium,
 * AES-256-GCM and HMAC-SHA512 from WebCrypto, randomness from crypto.getRandomValues. Runs in Node,
 * browsers and workers. Opening never throws on foreign or malformed input: it returns null.
 */
import {
  BOX_CHAIN_LENGTH, BOX_GCM_TAG_LENGTH, BOX_HEADER_LENGTH, BOX_KDF_LENGTH, BOX_LENGTH, BOX_SUITE, PAYLOAD_LENGTH, PDU_LENGTH, PDU_VERSION_0,
  type BoxBackend, type KeyPair, type OpenedBox, type TrialHit,
} from './boxTypes.js';
import { concatBytes, randomBytes, toArrayBufferView } from './encoding.js';
import { ProtocolError } from './errors.js';
import { cryptoReady, x25519, x25519Base, X25519_KEY_LENGTH } from './x25519.js';

export { cryptoReady } from './x25519.js';

const SUITE = BOX_SUITE;
const KDF_OUTPUT_LENGTH = BOX_KDF_LENGTH;
const CHAIN_LENGTH = BOX_CHAIN_LENGTH;
const GCM_TAG_LENGTH = BOX_GCM_TAG_LENGTH;
const HEADER_LENGTH = BOX_HEADER_LENGTH;
const PAD_LENGTH_BYTES = 4;
const MIN_BOX_LENGTH = HEADER_LENGTH + PAD_LENGTH_BYTES + GCM_TAG_LENGTH;
/** PDUs trial-opened concurrently. */
const TRIAL_WINDOW = 32;
/** Keeps a hostile caller from making us allocate or encrypt arbitrarily much. */
const MAX_BOX_PLAINTEXT = 1 << 20;

/**
 * The box KDF (not RFC 5869 HKDF): `t` starts as 64 zero bytes; for c = 0, 1, ...
 * `t = HMAC-SHA512(secret, info || c || t[0..32) || extra)`; the concatenated `t`s cut to `length`.
 */
export async function kdf(secret: Uint8Array, extra: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  if (!Number.isInteger(length) || length < 0 || length > 255 * 64) throw new RangeError('kdf: length out of range');
  const key = await crypto.subtle.importKey('raw', toArrayBufferView(secret), { name: 'HMAC', hash: 'SHA-512' }, false, ['sign']);
  const out = new Uint8Array(Math.ceil(length / 64) * 64);
  let t = new Uint8Array(64);
  for (let c = 0; c * 64 < length; c++) {
    const message = concatBytes(info, Uint8Array.of(c), t.subarray(0, 32), extra);
    t = new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
    out.set(t, c * 64);
  }
  return out.slice(0, length);
}

interface CipherKey {
  chain: Uint8Array;
  key: Uint8Array;
  nonce: Uint8Array;
}

async function deriveCipherKey(secret: Uint8Array, extra: Uint8Array, step: number): Promise<CipherKey> {
  const k = await kdf(secret, extra, concatBytes(SUITE, Uint8Array.of(step)), KDF_OUTPUT_LENGTH);
  return { chain: k.subarray(0, 48), key: k.subarray(48, 80), nonce: k.subarray(80, 92) };
}

async function aesGcm(mode: 'encrypt' | 'decrypt', cipher: CipherKey, data: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', toArrayBufferView(cipher.key), 'AES-GCM', false, [mode]);
  const params = { name: 'AES-GCM', iv: toArrayBufferView(cipher.nonce), additionalData: toArrayBufferView(aad), tagLength: 128 };
  const result = mode === 'encrypt'
    ? await crypto.subtle.encrypt(params, key, toArrayBufferView(data))
    : await crypto.subtle.decrypt(params, key, toArrayBufferView(data));
  return new Uint8Array(result);
}

/** AES-GCM decryption that reports a failed tag (or any other failure) as null. */
async function aesGcmOpen(cipher: CipherKey, data: Uint8Array, aad: Uint8Array): Promise<Uint8Array | null> {
  try {
    return await aesGcm('decrypt', cipher, data, aad);
  } catch {
    return null;
  }
}

function assertKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_LENGTH) throw new ProtocolError('invalid_pdu', `${what} must be 32 bytes.`);
}

/** A fresh X25519 key pair from the platform CSPRNG. */
export async function generateKeyPair(): Promise<KeyPair> {
  await cryptoReady();
  const privateKey = randomBytes(X25519_KEY_LENGTH);
  return { privateKey, publicKey: x25519Base(privateKey) };
}

/** The X25519 public key belonging to a 32-byte private key. */
export async function publicKeyFromPrivate(privateKey: Uint8Array): Promise<Uint8Array> {
  await cryptoReady();
  assertKey(privateKey, 'A private key');
  return x25519Base(privateKey);
}

/** Options for sealing; `ephemeral` exists for known-answer tests and must never be reused. */
export interface SealOptions {
  padLength?: number;
  ephemeral?: KeyPair;
}

/**
 * Seals `plaintext` from `sender` to `recipientPublicKey` (steps 1 to 5 of PROTOCOL.md section 3).
 * Returns the box (header || body) without the PDU version byte.
 */
export async function sealBox(sender: KeyPair, recipientPublicKey: Uint8Array, plaintext: Uint8Array, options: SealOptions = {}): Promise<Uint8Array> {
  await cryptoReady();
  assertKey(sender.privateKey, 'The sender private key');
  assertKey(sender.publicKey, 'The sender public key');
  assertKey(recipientPublicKey, 'The recipient public key');
  const padLength = options.padLength ?? 0;
  if (!Number.isInteger(padLength) || padLength < 0 || plaintext.length + padLength > MAX_BOX_PLAINTEXT) {
    throw new ProtocolError('invalid_pdu', 'The padding length or plaintext size is out of range.');
  }
  const ephemeral = options.ephemeral ?? (await generateKeyPair());
  const dh1 = x25519(ephemeral.privateKey, recipientPublicKey);
  const dh2 = x25519(sender.privateKey, recipientPublicKey);
  if (!dh1 || !dh2) throw new ProtocolError('invalid_pdu', 'The recipient public key is not a usable X25519 key.');

  const k1 = await deriveCipherKey(dh1, new Uint8Array(CHAIN_LENGTH), 0);
  const encryptedSender = await aesGcm('encrypt', k1, sender.publicKey, concatBytes(recipientPublicKey, ephemeral.publicKey));
  const header = concatBytes(ephemeral.publicKey, encryptedSender);

  const k2 = await deriveCipherKey(dh2, k1.chain, 1);
  const padLengthField = new Uint8Array(PAD_LENGTH_BYTES);
  new DataView(padLengthField.buffer).setInt32(0, padLength, false);
  const bodyPlaintext = concatBytes(plaintext, randomBytes(padLength), padLengthField);
  const body = await aesGcm('encrypt', k2, bodyPlaintext, concatBytes(recipientPublicKey, header));
  return concatBytes(header, body);
}

/** Step 2 alone: the sender key from the header, or null when the box is not for `recipient`. */
async function openHeader(recipient: KeyPair, box: Uint8Array): Promise<{ senderPublicKey: Uint8Array; chain: Uint8Array } | null> {
  const ephemeralPublicKey = box.subarray(0, X25519_KEY_LENGTH);
  const dh1 = x25519(recipient.privateKey, ephemeralPublicKey);
  if (!dh1) return null;
  const k1 = await deriveCipherKey(dh1, new Uint8Array(CHAIN_LENGTH), 0);
  const senderPublicKey = await aesGcmOpen(k1, box.subarray(X25519_KEY_LENGTH, HEADER_LENGTH), concatBytes(recipient.publicKey, ephemeralPublicKey));
  return senderPublicKey && senderPublicKey.length === X25519_KEY_LENGTH ? { senderPublicKey, chain: k1.chain } : null;
}

/**
 * Opens a box as `recipient`. Null when it is not for us or malformed (short, failed tag, padding
 * length negative or larger than the plaintext); never throws on hostile input.
 */
export async function openBox(recipient: KeyPair, box: Uint8Array): Promise<OpenedBox | null> {
  await cryptoReady();
  if (!(box instanceof Uint8Array) || box.length < MIN_BOX_LENGTH || box.length > MAX_BOX_PLAINTEXT + MIN_BOX_LENGTH) return null;
  if (recipient.privateKey.length !== X25519_KEY_LENGTH || recipient.publicKey.length !== X25519_KEY_LENGTH) return null;
  const header = await openHeader(recipient, box);
  if (!header) return null;
  const dh2 = x25519(recipient.privateKey, header.senderPublicKey);
  if (!dh2) return null;
  const k2 = await deriveCipherKey(dh2, header.chain, 1);
  const plaintext = await aesGcmOpen(k2, box.subarray(HEADER_LENGTH), concatBytes(recipient.publicKey, box.subarray(0, HEADER_LENGTH)));
  if (!plaintext || plaintext.length < PAD_LENGTH_BYTES) return null;
  const padLength = new DataView(plaintext.buffer, plaintext.byteOffset + plaintext.length - PAD_LENGTH_BYTES).getInt32(0, false);
  const contentLength = plaintext.length - PAD_LENGTH_BYTES;
  if (padLength < 0 || padLength > contentLength) return null;
  return { senderPublicKey: header.senderPublicKey, payload: plaintext.slice(0, contentLength - padLength) };
}

/** True for exactly the PDUs this protocol version reads: 2149 bytes starting with 0x00. */
export function isVersion0Pdu(pdu: unknown): pdu is Uint8Array {
  return pdu instanceof Uint8Array && pdu.length === PDU_LENGTH && pdu[0] === PDU_VERSION_0;
}

/** The portable BoxBackend: 2149-byte version-0 PDUs; anything else is "not a message", never an error. */
export const portableBox: BoxBackend = {
  async sealPdu(sender, recipientPublicKey, payload) {
    if (payload.length !== PAYLOAD_LENGTH) throw new ProtocolError('invalid_pdu', `A PDU payload must be exactly ${PAYLOAD_LENGTH} bytes.`);
    const box = await sealBox(sender, recipientPublicKey, payload);
    if (box.length !== BOX_LENGTH) throw new ProtocolError('invalid_pdu', 'The sealed box has an unexpected length.');
    return concatBytes(Uint8Array.of(PDU_VERSION_0), box);
  },
  async openPdu(recipient, pdu) {
    return isVersion0Pdu(pdu) ? openBox(recipient, pdu.subarray(1)) : null;
  },
  async trialOpen(identities, pdus) {
    await cryptoReady();
    const hits: (TrialHit | null)[] = new Array<TrialHit | null>(pdus.length).fill(null);
    // WebCrypto calls are asynchronous (Node runs them on its thread pool): keeping a window of PDUs
    // in flight overlaps them with the synchronous X25519 of the others.
    for (let start = 0; start < pdus.length; start += TRIAL_WINDOW) {
      const inFlight = pdus.slice(start, start + TRIAL_WINDOW);
      await Promise.all(inFlight.map(async (pdu, offset) => {
        if (!isVersion0Pdu(pdu)) return;
        for (let identityIndex = 0; identityIndex < identities.length; identityIndex++) {
          const opened = await openBox(identities[identityIndex]!, pdu.subarray(1));
          if (opened) {
            hits[start + offset] = { identityIndex, opened };
            return;
          }
        }
      }));
    }
    return hits;
  },
};
