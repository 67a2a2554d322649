/** Identity key generation on node:crypto: a new identity's key pair is made where private keys live. */
import { generateKeyPairSync } from 'node:crypto';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';

/** A fresh X25519 key pair as raw bytes. */
export function generateNativeKeyPair(): KeyPair {
  // The private key's JWK export carries both halves.
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
  return {
    publicKey: new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')),
    privateKey: new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url')),
  };
}
