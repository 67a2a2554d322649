/**
 * X25519 from libsodium-wrappers (WASM), the one primitive WebCrypto does not offer everywhere.
 * The default import of the package's ESM build works in Node, Vitest, Vite-built pages and Electron.
 */
import sodium from 'libsodium-wrappers';

export const X25519_KEY_LENGTH = 32;

let ready: Promise<void> | null = null;
let isReady = false;

/** Resolves once libsodium is initialised and WebCrypto is present; await it before using the box. */
export function cryptoReady(): Promise<void> {
  // Pages outside a secure context (https, localhost, a privileged app scheme) have no crypto.subtle:
  // say so here rather than fail later with an obscure TypeError.
  if (typeof globalThis.crypto?.subtle?.importKey !== 'function') {
    return Promise.reject(new Error('WebCrypto (crypto.subtle) is unavailable: run in a secure context (https, localhost or a privileged app scheme)'));
  }
  ready ??= sodium.ready.then(() => {
    isReady = true;
  });
  return ready;
}

function assertReady(): void {
  if (!isReady) throw new Error('X25519 used before cryptoReady() resolved');
}

/**
 * The X25519 shared secret, or null for a wrong key length or a low-order public key (all-zero
 * output): both mean "not a usable key", which trial decryption treats as "not for us".
 */
export function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  assertReady();
  if (privateKey.length !== X25519_KEY_LENGTH || publicKey.length !== X25519_KEY_LENGTH) return null;
  try {
    return sodium.crypto_scalarmult(privateKey, publicKey);
  } catch {
    return null;
  }
}

/** The X25519 public key of `privateKey`. */
export function x25519Base(privateKey: Uint8Array): Uint8Array {
  assertReady();
  if (privateKey.length !== X25519_KEY_LENGTH) throw new RangeError('X25519 private keys are 32 bytes');
  return sodium.crypto_scalarmult_base(privateKey);
}
