import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes } from 'node:crypto';
import { cryptoReady, generateKeyPair, portableBox, sealBox } from '../../shared/protocol/box.js';
import { PAYLOAD_LENGTH, PDU_LENGTH } from '../../shared/protocol/boxTypes.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import {
  importPublicKey,
  nativeBox,
  openNativeBox,
  prepareIdentity,
  sealNativeBox,
} from '../../electron/workers/nativeBox.js';

/** PKCS#8 prefix of a raw X25519 private key (RFC 8410): the only way node:crypto imports one without its public half. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The public key of a raw X25519 private key, derived with node:crypto (the product derives it in shared/protocol/box.ts). */
function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
  return new Uint8Array(Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x ?? '', 'base64url'));
}

interface Vectors {
  x25519: { alice_private: string; alice_public: string; bob_private: string; shared: string }[];
  boxes: { name: string; recipient_private: string; box: string; plaintext_utf8: string; sender_public: string }[];
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/qabel-box.json', import.meta.url), 'utf8')) as Vectors;
const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pairFromPrivate = (h: string) => ({ privateKey: hex(h), publicKey: publicKeyFromPrivate(hex(h)) });

function payloadOf(text: string): Uint8Array {
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(Buffer.from(text, 'utf8'));
  return payload;
}

describe('native box backend: known answers', () => {
  it('derives X25519 public keys and shared secrets of the vectors', () => {
    for (const v of vectors.x25519) {
      expect(toHex(publicKeyFromPrivate(hex(v.alice_private)))).toBe(v.alice_public);
      const alice = prepareIdentity(pairFromPrivate(v.alice_private));
      const bobPublic = importPublicKey(publicKeyFromPrivate(hex(v.bob_private)));
      expect(diffieHellman({ privateKey: alice.privateKey, publicKey: bobPublic }).toString('hex')).toBe(v.shared);
    }
  });

  it('opens every known-answer box and recovers sender and plaintext', () => {
    for (const v of vectors.boxes) {
      const opened = openNativeBox(prepareIdentity(pairFromPrivate(v.recipient_private)), hex(v.box));
      expect(opened, v.name).not.toBeNull();
      expect(toHex(opened!.senderPublicKey)).toBe(v.sender_public);
      expect(Buffer.from(opened!.payload).toString('utf8')).toBe(v.plaintext_utf8);
    }
  });

  it('rejects a known-answer box with one flipped bit, or opened by someone else', () => {
    const v = vectors.boxes[0]!;
    const me = prepareIdentity(pairFromPrivate(v.recipient_private));
    for (const position of [0, 40, 100, v.box.length / 2 - 1]) {
      const box = hex(v.box);
      box[position]! ^= 1;
      expect(openNativeBox(me, box)).toBeNull();
    }
    expect(openNativeBox(prepareIdentity(generateNativeKeyPair()), hex(v.box))).toBeNull();
  });
});

describe('native box backend: PDUs', () => {
  it('seals 2149-byte PDUs that only the recipient opens, with the sender authenticated', async () => {
    const alice = generateNativeKeyPair();
    const bob = generateNativeKeyPair();
    const carol = generateNativeKeyPair();
    const pdu = await nativeBox.sealPdu(alice, bob.publicKey, payloadOf('hello bob'));
    expect(pdu.length).toBe(PDU_LENGTH);
    expect(pdu[0]).toBe(0);
    const opened = await nativeBox.openPdu(bob, pdu);
    expect(toHex(opened!.senderPublicKey)).toBe(toHex(alice.publicKey));
    expect(Buffer.from(opened!.payload.subarray(0, 9)).toString()).toBe('hello bob');
    expect(await nativeBox.openPdu(carol, pdu)).toBeNull();
  });

  it('trial-opens a mixed batch and skips wrong lengths and versions', async () => {
    const alice = generateNativeKeyPair();
    const bob = generateNativeKeyPair();
    const carol = generateNativeKeyPair();
    const toBob = await nativeBox.sealPdu(alice, bob.publicKey, payloadOf('b'));
    const toCarol = await nativeBox.sealPdu(alice, carol.publicKey, payloadOf('c'));
    const wrongVersion = Uint8Array.from(toBob);
    wrongVersion[0] = 1;
    const hits = await nativeBox.trialOpen([bob, carol], [toBob, toCarol, wrongVersion, toBob.subarray(0, 2000), new Uint8Array(PDU_LENGTH)]);
    expect(hits.map((h) => h?.identityIndex ?? null)).toEqual([0, 1, null, null, null]);
  });

  it('refuses payloads that are not exactly 2048 bytes', async () => {
    const alice = generateNativeKeyPair();
    await expect(nativeBox.sealPdu(alice, alice.publicKey, new Uint8Array(10))).rejects.toThrow(RangeError);
  });

  it('round-trips boxes of any length', () => {
    const alice = prepareIdentity(generateNativeKeyPair());
    const bob = generateNativeKeyPair();
    const box = sealNativeBox(alice, bob.publicKey, Buffer.from('short'));
    expect(Buffer.from(openNativeBox(prepareIdentity(bob), box)!.payload).toString()).toBe('short');
  });
});

describe('native and portable backends interoperate', () => {
  it('native seals what portable opens and the other way round, for random payloads', async () => {
    await cryptoReady();
    for (let round = 0; round < 10; round++) {
      const alice = round % 2 === 0 ? generateNativeKeyPair() : await generateKeyPair();
      const bob = round % 2 === 0 ? await generateKeyPair() : generateNativeKeyPair();
      const payload = new Uint8Array(randomBytes(PAYLOAD_LENGTH));
      const fromNative = await nativeBox.sealPdu(alice, bob.publicKey, payload);
      const fromPortable = await portableBox.sealPdu(alice, bob.publicKey, payload);
      for (const [pdu, opener] of [[fromNative, portableBox], [fromPortable, nativeBox]] as const) {
        const opened = await opener.openPdu(bob, pdu);
        expect(toHex(opened!.senderPublicKey)).toBe(toHex(alice.publicKey));
        expect(toHex(opened!.payload)).toBe(toHex(payload));
      }
      const hits = await nativeBox.trialOpen([alice, bob], [fromPortable]);
      expect(hits[0]?.identityIndex).toBe(1);
    }
  });

  it('opens portable boxes with random padding', async () => {
    const alice = await generateKeyPair();
    const bob = generateNativeKeyPair();
    const box = await sealBox(alice, bob.publicKey, Buffer.from('padded'), { padLength: 37 });
    expect(Buffer.from(openNativeBox(prepareIdentity(bob), box)!.payload).toString()).toBe('padded');
  });
});
