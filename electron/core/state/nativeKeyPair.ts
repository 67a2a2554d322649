/** Identity key generation on node:crypto: a new identity's key pair is made where private keys live. */
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { freshX25519 } from '../v1/primitives.js';

/** A fresh X25519 key pair as raw bytes (see `freshX25519` for why not `generateKeyPairSync`). */
export function generateNativeKeyPair(): KeyPair {
  const fresh = freshX25519();
  return { publicKey: new Uint8Array(fresh.publicKey), privateKey: new Uint8Array(fresh.privateKey) };
}
