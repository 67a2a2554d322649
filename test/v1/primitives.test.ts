import { createPrivateKey, diffieHellman } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freshX25519, gcmOpen, gcmSeal, generateKeyPair, hkdf, hkdfNative, hmac, importPublic, keyPairFromPrivate, x25519 } from '../../electron/core/v1/primitives.js';

const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('v1 primitives', () => {
  it('HKDF-SHA256 gives RFC 5869 test case 1', () => {
    const okm = hkdf(hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('the hand-written HKDF equals node:crypto hkdfSync for every length, salt and info used', () => {
    for (const length of [1, 16, 32, 33, 44, 64, 96, 200]) {
      for (const salt of [new Uint8Array(0), new Uint8Array(32).fill(3), new Uint8Array(64).fill(9)]) {
        const ikm = new Uint8Array(length % 50).fill(length);
        expect(toHex(hkdf(ikm, salt, Buffer.from('DD1 msg'), length))).toBe(toHex(hkdfNative(ikm, salt, Buffer.from('DD1 msg'), length)));
      }
    }
  });

  it('HMAC-SHA256 gives RFC 4231 test case 2, over split parts too', () => {
    const expected = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
    expect(toHex(hmac(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')))).toBe(expected);
    expect(toHex(hmac(Buffer.from('Jefe'), Buffer.from('what do ya '), Buffer.from('want for nothing?')))).toBe(expected);
  });

  it('X25519 on raw keys matches the Qabel (RFC 7748) vector', () => {
    const vectors = JSON.parse(readFileSync(new URL('../fixtures/qabel-box.json', import.meta.url), 'utf8')) as {
      x25519: { alice_private: string; alice_public: string; bob_private: string; shared: string }[];
    };
    for (const v of vectors.x25519) {
      const alice = keyPairFromPrivate(hex(v.alice_private));
      expect(toHex(alice.publicKey)).toBe(v.alice_public);
      const bob = keyPairFromPrivate(hex(v.bob_private));
      expect(toHex(x25519(alice, bob.publicKey)!)).toBe(v.shared);
      expect(toHex(x25519(bob, alice.publicKey)!)).toBe(v.shared);
    }
  });

  it('X25519 refuses low-order and malformed peer keys with null', () => {
    const pair = generateKeyPair();
    expect(x25519(pair, new Uint8Array(32))).toBeNull();
    expect(x25519(pair, new Uint8Array(31))).toBeNull();
  });

  it('fresh keys (JWK import from the private half alone) have the public half and shared secrets RFC 7748 defines', () => {
    // The public half is read back from the imported key: it must be X25519(private, 9), and the key
    // object must compute the same secrets as the raw private bytes imported through DER.
    const base = new Uint8Array(32);
    base[0] = 9;
    const der = (privateKey: Uint8Array) =>
      createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), privateKey]), format: 'der', type: 'pkcs8' });
    for (let i = 0; i < 20; i++) {
      const fresh = freshX25519();
      const peer = generateKeyPair();
      expect(toHex(diffieHellman({ privateKey: der(fresh.privateKey), publicKey: importPublic(base) }))).toBe(toHex(fresh.publicKey));
      const shared = toHex(x25519(peer, fresh.publicKey)!);
      expect(toHex(diffieHellman({ privateKey: fresh.key, publicKey: importPublic(peer.publicKey) }))).toBe(shared);
      expect(toHex(diffieHellman({ privateKey: der(fresh.privateKey), publicKey: importPublic(peer.publicKey) }))).toBe(shared);
      expect(toHex(keyPairFromPrivate(fresh.privateKey).publicKey)).toBe(toHex(fresh.publicKey));
    }
  });

  it('AES-256-GCM round-trips and returns null (no throw) on any tampering', () => {
    const key = new Uint8Array(32).fill(7);
    const nonce = new Uint8Array(12).fill(1);
    const sealed = gcmSeal(key, nonce, Buffer.from('secret'), Buffer.from('aad'));
    expect(sealed.length).toBe(6 + 16);
    expect(Buffer.from(gcmOpen(key, nonce, sealed, Buffer.from('aad'))!).toString()).toBe('secret');
    expect(gcmOpen(key, nonce, sealed, Buffer.from('aaD'))).toBeNull();
    const flipped = Buffer.from(sealed);
    flipped[0]! ^= 1;
    expect(gcmOpen(key, nonce, flipped, Buffer.from('aad'))).toBeNull();
    expect(gcmOpen(key, nonce, sealed.subarray(0, 10), Buffer.from('aad'))).toBeNull();
  });
});
