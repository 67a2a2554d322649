/**
 * Protocol v1 primitives on node:crypto (PROTOCOL-V1.md 1c "Primitives"): X25519 on raw 32-byte keys,
 * HKDF-SHA256 (RFC 5869), HMAC-SHA256, AES-256-GCM. Same speed rules as electron/workers/nativeBox.ts
 * (which the layering rule keeps out of reach of electron/core): keys are imported from JWK, which is an
 * order of magnitude cheaper than DER (fresh keys too), and a failed GCM tag returns null without
 * capturing a stack.
 *
 * Randomness is injectable (`RandomSource`) so known-answer vectors can be generated deterministically;
 * the default draws from the OS and generates key pairs natively.
 */
import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
} from 'node:crypto';

export const KEY_LENGTH = 32;
export const GCM_TAG_LENGTH = 16;

/** Returns `length` fresh random bytes. */
export type RandomSource = (length: number) => Uint8Array;

export const systemRandom: RandomSource = (length) => new Uint8Array(randomBytes(length));

/** A raw X25519 key pair. */
export interface RawKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** PKCS#8 prefix of a raw X25519 private key (RFC 8410): the only import that needs no public half. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * Imported keys, keyed by their base64url text. Ratchet keys are used for many messages (every PDU of an
 * epoch mixes with the same peer key), so re-importing each time would dominate the cost. Bounded: the
 * oldest entries go first.
 */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_LIMIT = 4096;

function cached(id: string, make: () => KeyObject): KeyObject {
  let key = keyCache.get(id);
  if (!key) {
    key = make();
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(id, key);
  }
  return key;
}

/** Imports a raw public key; throws on a malformed encoding (callers holding hostile bytes catch). */
export function importPublic(raw: Uint8Array): KeyObject {
  const x = asBuffer(raw).toString('base64url');
  return cached(`p${x}`, () => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' }));
}

/** Imports a raw public key without caching it: a PDU's fresh `E` is used once (the trial hot path). */
export function importPublicOnce(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: asBuffer(raw).toString('base64url') }, format: 'jwk' });
}

/** X25519 between imported keys; null for a low-order peer key. The trial path imports its identity once. */
export function x25519Objects(privateKey: KeyObject, publicKey: KeyObject): Buffer | null {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch {
    return null;
  }
}

/** Imports a raw key pair (JWK import wants the public half too). */
export function importPrivate(pair: RawKeyPair): KeyObject {
  const d = asBuffer(pair.privateKey).toString('base64url');
  const x = asBuffer(pair.publicKey).toString('base64url');
  return cached(`s${d}${x}`, () => createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', x, d }, format: 'jwk' }));
}

/**
 * A private key object and its public half from 32 raw bytes. JWK import, not PKCS#8: on Node 20 with
 * OpenSSL 3 a DER import goes through the decoder framework and costs ~0.5 ms (about 14 X25519s), a JWK
 * import ~0.05 ms, and every sealed PDU and ratchet step makes a fresh key. A private JWK is imported
 * from `d` alone (OpenSSL derives the public half; `x` must be present but is not read), so the public
 * half is read back from the key's own JWK export. That OpenSSL behaviour is checked once, at load,
 * against a known key pair (`jwkImportDerivesPublic`); should a Node version read the placeholder `x`
 * (or insist on a matching one), the DER import is used.
 */
function privateKeyFromRaw(privateKey: Buffer): { key: KeyObject; publicKey: Buffer } {
  let key: KeyObject;
  try {
    key = importPrivateFromD(privateKey);
  } catch {
    key = importPrivateDer(privateKey);
  }
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('X25519 key export gave no public half');
  return { key, publicKey: Buffer.from(x, 'base64url') };
}

/** The placeholder public half of a private JWK import (see `privateKeyFromRaw`). */
const UNREAD_X = Buffer.alloc(KEY_LENGTH).toString('base64url');

function importPrivateJwk(privateKey: Buffer): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: privateKey.toString('base64url'), x: UNREAD_X }, format: 'jwk' });
}

function importPrivateDer(privateKey: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
}

/** RFC 7748 section 6.1, Alice's key pair: the known answer of the load-time check. */
const VECTOR_PRIVATE = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const VECTOR_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');

/**
 * Whether a private JWK import with the placeholder `x` gives the key of `d`: its exported public half
 * is the one X25519 derives from a known private key. A library keeping the placeholder as the public
 * half would make every ephemeral `E` and ratchet key we send wrong (nothing would open) while the
 * private half still worked, so no other symptom would show it.
 */
export function jwkImportDerivesPublic(importJwk: (privateKey: Buffer) => KeyObject = importPrivateJwk): boolean {
  try {
    const x = importJwk(VECTOR_PRIVATE).export({ format: 'jwk' }).x;
    return typeof x === 'string' && Buffer.from(x, 'base64url').equals(VECTOR_PUBLIC);
  } catch {
    return false;
  }
}

/** The import `privateKeyFromRaw` uses: the fast JWK one when it passed the check, else PKCS#8. */
const importPrivateFromD = jwkImportDerivesPublic() ? importPrivateJwk : importPrivateDer;

/**
 * A fresh X25519 key from 32 CSPRNG bytes (X25519 clamps them itself), never through
 * `generateKeyPairSync`: on Node 20 a key pair job collected by the garbage collector while the same
 * key's JWK is being exported locks that key's mutex a second time, and the thread waits for ever (seen
 * as a silent test stall; gdb: `~KeyGenJob` inside `ExportJWKEdKey`). Keys imported here come from no
 * job, so exporting their JWK is safe.
 */
export function freshX25519(): { key: KeyObject; publicKey: Buffer; privateKey: Buffer } {
  const privateKey = randomBytes(KEY_LENGTH);
  return { ...privateKeyFromRaw(privateKey), privateKey };
}

/** A fresh key pair: from the system CSPRNG by default, or derived from `random` (vectors only). */
export function generateKeyPair(random?: RandomSource): RawKeyPair {
  if (!random) {
    const fresh = freshX25519();
    return { publicKey: new Uint8Array(fresh.publicKey), privateKey: new Uint8Array(fresh.privateKey) };
  }
  return keyPairFromPrivate(random(KEY_LENGTH));
}

/** A one-use key (a PDU's `E`): its public bytes and the private key object, never exported or cached. */
export interface Ephemeral {
  publicKey: Uint8Array;
  key: KeyObject;
}

export function generateEphemeral(random?: RandomSource): Ephemeral {
  const fresh = random ? privateKeyFromRaw(asBuffer(random(KEY_LENGTH))) : freshX25519();
  return { publicKey: new Uint8Array(fresh.publicKey), key: fresh.key };
}

/** The key pair of a raw private key (clamping is X25519's own). */
export function keyPairFromPrivate(privateKey: Uint8Array): RawKeyPair {
  return { publicKey: new Uint8Array(privateKeyFromRaw(asBuffer(privateKey)).publicKey), privateKey: new Uint8Array(privateKey) };
}

/** X25519; null for a malformed or low-order peer key (node:crypto refuses an all-zero secret): hostile input. */
export function x25519(ours: RawKeyPair, theirPublic: Uint8Array): Buffer | null {
  try {
    return diffieHellman({ privateKey: importPrivate(ours), publicKey: importPublic(theirPublic) });
  } catch {
    return null;
  }
}

/** X25519 with an already imported peer key (the trial path imports E once for v0 and v1). */
export function x25519Key(ours: RawKeyPair, theirPublic: KeyObject): Buffer | null {
  try {
    return diffieHellman({ privateKey: importPrivate(ours), publicKey: theirPublic });
  } catch {
    return null;
  }
}

const ZERO_SALT = Buffer.alloc(32);

/**
 * HKDF-SHA256 (RFC 5869), extract and expand written out with HMAC: `hkdfSync` costs about twice as much
 * for the short outputs used here (every message key is one), and the RFC test vectors pin both.
 */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  if (length > 255 * 32) throw new RangeError('HKDF output too long');
  const prk = createHmac('sha256', salt.length > 0 ? salt : ZERO_SALT).update(ikm).digest();
  const out = Buffer.allocUnsafe(Math.ceil(length / 32) * 32);
  let previous: Buffer = Buffer.alloc(0);
  for (let block = 1, offset = 0; offset < length; block++, offset += 32) {
    previous = createHmac('sha256', prk).update(previous).update(info).update(Buffer.from([block])).digest();
    previous.copy(out, offset);
  }
  return out.subarray(0, length);
}

/** The same through node:crypto's own implementation (tests compare the two). */
export const hkdfNative = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer =>
  Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** HMAC-SHA256 of the concatenated parts. */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** SHA-256 of the concatenated parts. */
export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** AES-256-GCM seal: ciphertext || 16-byte tag. */
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** AES-256-GCM open; null on a bad tag. Node signals that by throwing, so no stack is captured. */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < GCM_TAG_LENGTH) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_LENGTH));
  const plain = decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_LENGTH));
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

/** ASCII label bytes ("DD1 ..."). */
export const label = (text: string): Buffer => Buffer.from(text, 'latin1');

export const b64 = (bytes: Uint8Array): string => asBuffer(bytes).toString('base64url');
export const unb64 = (text: string): Buffer => Buffer.from(text, 'base64url');
