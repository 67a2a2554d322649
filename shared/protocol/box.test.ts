// Runs under Node and, as the "browser" Vitest project, in Chromium: keep it free of Node APIs.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import vectors from '../../test/fixtures/qabel-box.json' with { type: 'json' };
import { cryptoReady, generateKeyPair, isVersion0Pdu, kdf, openBox, portableBox, publicKeyFromPrivate, sealBox } from './box.js';
import { PAYLOAD_LENGTH, PDU_LENGTH, type KeyPair } from './boxTypes.js';
import { bytesEqual, concatBytes, fromHex, randomBytes, toHex, utf8Decode, utf8Encode } from './encoding.js';
import { x25519 } from './x25519.js';

const SUITE = concatBytes(utf8Encode('Noise255/AES256-GCM'), new Uint8Array(5));

async function keyPairFromPrivateHex(hex: string): Promise<KeyPair> {
  const privateKey = fromHex(hex);
  return { privateKey, publicKey: await publicKeyFromPrivate(privateKey) };
}

async function gcm(mode: 'encrypt' | 'decrypt', key: Uint8Array, nonce: Uint8Array, data: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, [mode]);
  const params = { name: 'AES-GCM', iv: new Uint8Array(nonce), additionalData: new Uint8Array(aad) };
  return new Uint8Array(mode === 'encrypt' ? await crypto.subtle.encrypt(params, k, new Uint8Array(data)) : await crypto.subtle.decrypt(params, k, new Uint8Array(data)));
}

/** Re-encrypts the body of a box we sealed with a known ephemeral key, with an arbitrary padLen field. */
async function boxWithPadLengthField(sender: KeyPair, recipient: KeyPair, ephemeral: KeyPair, content: Uint8Array, padLengthField: number): Promise<Uint8Array> {
  const box = await sealBox(sender, recipient.publicKey, content, { ephemeral });
  const header = box.subarray(0, 80);
  const k1 = await kdf(x25519(ephemeral.privateKey, recipient.publicKey)!, new Uint8Array(48), concatBytes(SUITE, Uint8Array.of(0)), 92);
  const k2 = await kdf(x25519(sender.privateKey, recipient.publicKey)!, k1.subarray(0, 48), concatBytes(SUITE, Uint8Array.of(1)), 92);
  const field = new Uint8Array(4);
  new DataView(field.buffer).setInt32(0, padLengthField, false);
  const body = await gcm('encrypt', k2.subarray(48, 80), k2.subarray(80, 92), concatBytes(content, field), concatBytes(recipient.publicKey, header));
  return concatBytes(header, body);
}

function payloadOf(text: string): Uint8Array {
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(utf8Encode(text));
  return payload;
}

beforeAll(async () => {
  await cryptoReady();
});

describe('known answers from the original Qabel implementation', () => {
  it('X25519', async () => {
    for (const v of vectors.x25519) {
      const alice = await keyPairFromPrivateHex(v.alice_private);
      const bob = await keyPairFromPrivateHex(v.bob_private);
      expect(toHex(alice.publicKey)).toBe(v.alice_public);
      expect(toHex(x25519(alice.privateKey, bob.publicKey)!)).toBe(v.shared);
      expect(toHex(x25519(bob.privateKey, alice.publicKey)!)).toBe(v.shared);
    }
  });
  it('the header step: KDF output and AES-GCM with the given key, nonce and aad', async () => {
    const h = vectors.header_step;
    const aad = concatBytes(fromHex(h.aad_recipient_public), fromHex(h.aad_ephemeral_public));
    expect(toHex(await gcm('decrypt', fromHex(h.key), fromHex(h.nonce), fromHex(h.ciphertext), aad))).toBe(h.plaintext);
    // Our KDF must derive exactly that key and nonce from box 1's recipient key and ephemeral key.
    const recipient = await keyPairFromPrivateHex(vectors.boxes[0]!.recipient_private);
    expect(toHex(recipient.publicKey)).toBe(h.aad_recipient_public);
    const dh1 = x25519(recipient.privateKey, fromHex(h.aad_ephemeral_public))!;
    const k1 = await kdf(dh1, new Uint8Array(48), concatBytes(SUITE, Uint8Array.of(0)), 92);
    expect(toHex(k1.subarray(48, 80))).toBe(h.key);
    expect(toHex(k1.subarray(80, 92))).toBe(h.nonce);
  });
  it('both boxes open to their plaintexts and sender keys (box 2 has random padding)', async () => {
    for (const v of vectors.boxes) {
      const recipient = await keyPairFromPrivateHex(v.recipient_private);
      const opened = await openBox(recipient, fromHex(v.box));
      expect(opened, v.name).not.toBeNull();
      expect(utf8Decode(opened!.payload)).toBe(v.plaintext_utf8);
      expect(toHex(opened!.senderPublicKey)).toBe(v.sender_public);
    }
  });
  it('a known box does not open for another identity or after any bit flip in a sample of positions', async () => {
    const v = vectors.boxes[0]!;
    const recipient = await keyPairFromPrivateHex(v.recipient_private);
    expect(await openBox(await generateKeyPair(), fromHex(v.box))).toBeNull();
    const box = fromHex(v.box);
    for (const position of [0, 31, 32, 79, 80, box.length - 17, box.length - 1]) {
      const tampered = box.slice();
      tampered[position] = tampered[position]! ^ 1;
      expect(await openBox(recipient, tampered), `flip at ${position}`).toBeNull();
    }
  });
});

describe('KDF', () => {
  it('outputs the requested length, each block a prefix-consistent HMAC chain', async () => {
    const secret = randomBytes(32);
    const long = await kdf(secret, Uint8Array.of(1, 2), Uint8Array.of(3), 200);
    expect(long.length).toBe(200);
    expect(await kdf(secret, Uint8Array.of(1, 2), Uint8Array.of(3), 92)).toEqual(long.subarray(0, 92));
    expect(await kdf(secret, Uint8Array.of(1, 3), Uint8Array.of(3), 92)).not.toEqual(long.subarray(0, 92));
  });
});

describe('sealing and opening', () => {
  let alice: KeyPair;
  let bob: KeyPair;
  let carol: KeyPair;
  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
  });

  it('round-trips any plaintext and padding, authenticating the sender', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 64 }), async (plaintext, padLength) => {
      const box = await sealBox(alice, bob.publicKey, plaintext, { padLength });
      expect(box.length).toBe(80 + plaintext.length + padLength + 4 + 16);
      const opened = await openBox(bob, box);
      expect(opened?.payload).toEqual(plaintext);
      expect(bytesEqual(opened!.senderPublicKey, alice.publicKey)).toBe(true);
    }), { numRuns: 25 });
  });
  it('rejects a padding length that is negative or larger than the plaintext', async () => {
    const ephemeral = await generateKeyPair();
    const content = utf8Encode('twelve bytes');
    expect((await openBox(bob, await boxWithPadLengthField(alice, bob, ephemeral, content, 12)))?.payload).toEqual(new Uint8Array(0));
    expect((await openBox(bob, await boxWithPadLengthField(alice, bob, ephemeral, content, 2)))?.payload).toEqual(content.subarray(0, 10));
    expect(await openBox(bob, await boxWithPadLengthField(alice, bob, ephemeral, content, 13))).toBeNull();
    expect(await openBox(bob, await boxWithPadLengthField(alice, bob, ephemeral, content, -1))).toBeNull();
    expect(await openBox(bob, await boxWithPadLengthField(alice, bob, ephemeral, content, -(2 ** 31)))).toBeNull();
  });
  it('a PDU we seal is exactly 2149 bytes, version 0, and opens only for its recipient', async () => {
    const pdu = await portableBox.sealPdu(alice, bob.publicKey, payloadOf('hello bob'));
    expect(pdu.length).toBe(PDU_LENGTH);
    expect(pdu[0]).toBe(0);
    expect(isVersion0Pdu(pdu)).toBe(true);
    const opened = await portableBox.openPdu(bob, pdu);
    expect(opened?.payload).toEqual(payloadOf('hello bob'));
    expect(opened?.senderPublicKey).toEqual(alice.publicKey);
    expect(await portableBox.openPdu(carol, pdu)).toBeNull();
    expect(await portableBox.openPdu(alice, pdu)).toBeNull();
    await expect(portableBox.sealPdu(alice, bob.publicKey, new Uint8Array(PAYLOAD_LENGTH - 1))).rejects.toThrow(/exactly 2048/);
  });
  it('does not open a PDU with any single byte changed', async () => {
    const pdu = await portableBox.sealPdu(alice, bob.publicKey, payloadOf('integrity'));
    await fc.assert(fc.asyncProperty(fc.nat({ max: PDU_LENGTH - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
      const tampered = pdu.slice();
      tampered[at] = tampered[at]! ^ xor;
      expect(await portableBox.openPdu(bob, tampered)).toBeNull();
    }), { numRuns: 40 });
  });
  it('skips PDUs of another length or version without an error', async () => {
    const pdu = await portableBox.sealPdu(alice, bob.publicKey, payloadOf('x'));
    const otherVersion = pdu.slice();
    otherVersion[0] = 1;
    for (const bad of [otherVersion, pdu.subarray(0, PDU_LENGTH - 1), concatBytes(pdu, Uint8Array.of(0)), new Uint8Array(0)]) {
      expect(await portableBox.openPdu(bob, bad)).toBeNull();
    }
  });
  it('trialOpen finds exactly ours in a mix of foreign, garbage and misframed messages', async () => {
    const forBob = await portableBox.sealPdu(alice, bob.publicKey, payloadOf('to bob'));
    const forCarol = await portableBox.sealPdu(alice, carol.publicKey, payloadOf('to carol'));
    const forAlice = await portableBox.sealPdu(carol, alice.publicKey, payloadOf('to alice'));
    const garbage = concatBytes(Uint8Array.of(0), randomBytes(PDU_LENGTH - 1));
    const mix = [garbage, forCarol, forBob, randomBytes(10), forAlice, forBob.subarray(1)];
    const hits = await portableBox.trialOpen([bob, alice], mix);
    expect(hits.map((h) => h?.identityIndex ?? null)).toEqual([null, null, 0, null, 1, null]);
    expect(utf8Decode(hits[2]!.opened.payload.subarray(0, 6))).toBe('to bob');
    expect(hits[4]!.opened.senderPublicKey).toEqual(carol.publicKey);
    expect(await portableBox.trialOpen([], mix)).toEqual(mix.map(() => null));
  });
  it('never throws on random or truncated boxes', async () => {
    const valid = await sealBox(alice, bob.publicKey, utf8Encode('payload'));
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((box) => ({ box, intact: false })),
        fc.nat({ max: valid.length }).map((n) => ({ box: valid.subarray(0, n), intact: n === valid.length })),
      ),
      async ({ box, intact }) => {
        const opened = await openBox(bob, box);
        if (intact) expect(opened?.payload).toEqual(utf8Encode('payload'));
        else expect(opened).toBeNull();
      },
    ), { numRuns: 60 });
  });
  it('refuses to seal to a key that is not 32 bytes or is a low-order point', async () => {
    await expect(sealBox(alice, new Uint8Array(31), utf8Encode('x'))).rejects.toThrow(/32 bytes/);
    await expect(sealBox(alice, new Uint8Array(32), utf8Encode('x'))).rejects.toThrow(/not a usable/);
  });
});
