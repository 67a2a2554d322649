/**
 * v0 interop (PROTOCOL-V1.md 1d): today's v0 decoders, native and portable, run over a drop full of v1
 * PDUs (Init, Session, PING) with the very identities they are for, and open none; the Qabel vectors still
 * open; and v1 does not mistake v0 PDUs for its own.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cryptoReady, portableBox } from '../../shared/protocol/box.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { nativeBox, openNativeBox, prepareIdentity } from '../../electron/workers/nativeBox.js';
import { keyPairFromPrivate } from '../../electron/core/v1/primitives.js';
import { OFF_H, OFF_T, initiate, openInit, openSession, pingBody, seal } from '../../electron/core/v1/session.js';
import { TagTable } from '../../electron/core/v1/tagTable.js';
import { establish, sealed, text } from './helpers.js';

const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('v1 next to v0', () => {
  it("v0 trial decryption (native and portable) opens none of a drop of v1 PDUs, even with the recipients' own keys", async () => {
    const setup = establish(1, 2);
    const { aliceIdentity, bobIdentity } = setup;
    let { alice, bob } = setup;
    const drop: Uint8Array[] = [];
    const fresh = initiate({ ourIdentity: aliceIdentity, theirIdentityPublic: bobIdentity.publicKey }, 1);
    for (let i = 0; i < 20; i++) drop.push(sealed(seal(fresh, text(`init ${i}`), {}, 1)).pdu);
    for (let i = 0; i < 60; i++) {
      const r = sealed(seal(bob, i % 3 === 2 ? pingBody() : text(`m${i}`), { copies: 2 }, 1));
      bob = r.state;
      drop.push(...r.pdus);
      const back = openSession(alice, r.pdu, 1);
      if (back && 'state' in back) alice = back.state;
    }
    const a = sealed(seal(alice, text('from alice'), { copies: 2 }, 1));
    drop.push(...a.pdus);
    const identities = [aliceIdentity, bobIdentity];
    expect((await nativeBox.trialOpen(identities, drop)).filter(Boolean)).toEqual([]);
    for (const pdu of drop) expect(await nativeBox.openPdu(bobIdentity, pdu)).toBeNull();
    await cryptoReady();
    expect((await portableBox.trialOpen(identities, drop)).filter(Boolean)).toEqual([]);
  });

  it('the Qabel box vectors still open with the v0 decoder', () => {
    const vectors = JSON.parse(readFileSync(new URL('../fixtures/qabel-box.json', import.meta.url), 'utf8')) as {
      boxes: { recipient_private: string; box: string; plaintext_utf8: string; sender_public: string }[];
    };
    expect(vectors.boxes.length).toBeGreaterThan(0);
    for (const v of vectors.boxes) {
      const opened = openNativeBox(prepareIdentity(keyPairFromPrivate(hex(v.recipient_private))), hex(v.box));
      expect(opened).not.toBeNull();
      expect(Buffer.from(opened!.senderPublicKey).toString('hex')).toBe(v.sender_public);
      expect(Buffer.from(opened!.payload).toString('utf8')).toBe(v.plaintext_utf8);
    }
  });

  it('v0 PDUs miss the v1 tag table and open no Init', async () => {
    const { alice, bob, bobIdentity, qpk } = establish(1, 2);
    const table = TagTable.fromStates([alice, bob]);
    for (let i = 0; i < 50; i++) {
      const pdu = await nativeBox.sealPdu(keyPairFromPrivate(new Uint8Array(32).fill(i + 1)), bobIdentity.publicKey, new Uint8Array(PAYLOAD_LENGTH));
      expect(table.lookup(pdu.subarray(OFF_T, OFF_H))).toBeUndefined();
      expect(openSession(bob, pdu, 1)).toBeNull();
      expect(openInit({ ourIdentity: bobIdentity, qrPrekeys: [qpk] }, pdu, 1)).toBeNull();
    }
  });
});
