import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../electron/core/v1/body.js';
import { gcmOpen, generateKeyPair, hkdf, hmac, sha256, unb64, x25519 } from '../../electron/core/v1/primitives.js';
import {
  MAX_SKIPPED,
  OFF_B,
  OFF_H,
  OFF_INIT_B,
  OFF_S,
  OFF_T,
  PDU_LENGTH,
  W,
  chooseActive,
  computeTag,
  initiate,
  isStale,
  newQrPrekey,
  openInit,
  openSession,
  pingDue,
  pingBody,
  seal,
  skippedCount,
  tagsOf,
} from '../../electron/core/v1/session.js';
import { TagTable } from '../../electron/core/v1/tagTable.js';
import { establish, sealed, text, textOf } from './helpers.js';

const NOW = 1_000_000;

function opened<T>(result: T): Extract<NonNullable<T>, { state: unknown }> {
  if (!result || !('state' in (result as object))) throw new Error(`expected a message, got ${JSON.stringify(result)}`);
  return result as Extract<NonNullable<T>, { state: unknown }>;
}

describe('v1 wire layouts', () => {
  it('Session PDU: 0x00 · E 32 · T 16 at 33 · H 64 at 49 (HK, nonce from E) · B 2036 at 113', () => {
    const { bob } = establish(NOW);
    const pdu = sealed(seal(bob, text('layout'), { copies: 2 }, NOW)).pdus[1]!;
    expect(pdu.length).toBe(PDU_LENGTH);
    expect(pdu[0]).toBe(0);
    const e = pdu.subarray(1, 33);
    const hk = unb64(bob.hks);
    expect(Buffer.from(pdu.subarray(OFF_T, OFF_H))).toEqual(computeTag(hk, 0, 1));
    expect(Buffer.from(pdu.subarray(OFF_T, OFF_H))).toEqual(hmac(hk, Buffer.from('DD1 tag'), Uint8Array.of(0, 0, 1)).subarray(0, 16));
    const nonce = sha256(Buffer.from('DD1 hn'), e).subarray(0, 12);
    const header = gcmOpen(hk, nonce, pdu.subarray(OFF_H, OFF_B), pdu.subarray(0, OFF_H))!;
    expect(header.length).toBe(48);
    expect(Buffer.from(header.subarray(0, 32))).toEqual(unb64(bob.dhsPub));
    expect([...header.subarray(32, 38)]).toEqual([0, 0, 0, 0, 0, 1]); // PN 0, N 0, flags 0, copy 1
    expect(PDU_LENGTH - OFF_B).toBe(2036);
  });

  it('Init PDU: T_init = HMAC(dh1 = X25519(E, IK_B), ...), S = IK_A || RK_A, B 2020 at 129 naming the QPK', () => {
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    const qpk = newQrPrekey(NOW);
    const state = initiate({ ourIdentity: alice, theirIdentityPublic: bob.publicKey, theirQrPrekey: { public: unb64(qpk.public) } }, NOW);
    const pdu = sealed(seal(state, text('first'), {}, NOW)).pdu;
    expect(pdu.length).toBe(PDU_LENGTH);
    expect(pdu[0]).toBe(0);
    const e = pdu.subarray(1, 33);
    const dh1 = x25519(bob, e)!;
    const ki = hkdf(dh1, Buffer.concat([e, bob.publicKey]), Buffer.from('DD1 init'), 32);
    // One HMAC keyed with dh1 (what every foreign PDU pays); K_i only once the tag matched.
    expect(Buffer.from(pdu.subarray(OFF_T, OFF_S))).toEqual(hmac(dh1, Buffer.from('DD1 init tag'), e, bob.publicKey).subarray(0, 16));
    const ks = hkdf(ki, Buffer.alloc(0), Buffer.from('DD1 init s'), 44);
    const s = gcmOpen(ks.subarray(0, 32), ks.subarray(32), pdu.subarray(OFF_S, OFF_INIT_B), Buffer.concat([Uint8Array.of(0), e, pdu.subarray(OFF_T, OFF_S), bob.publicKey]))!;
    expect(Buffer.from(s)).toEqual(Buffer.concat([alice.publicKey, unb64(state.dhsPub)]));
    expect(PDU_LENGTH - OFF_INIT_B).toBe(2020);
    const result = opened(openInit({ ourIdentity: bob, qrPrekeys: [qpk] }, pdu, NOW));
    expect(result.qpkId).toBe(qpk.id);
    expect(Buffer.from(result.theirIdentityPublic)).toEqual(Buffer.from(alice.publicKey));
    expect(textOf(result.body.content)).toBe('first');
    expect(result.state.id).toBe(state.id);
  });

  it('Init without a QR prekey (B0 = IK_B) opens too; a stranger identity opens nothing', () => {
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    const state = initiate({ ourIdentity: alice, theirIdentityPublic: bob.publicKey }, NOW);
    const pdu = sealed(seal(state, text('no qpk'), {}, NOW)).pdu;
    expect(textOf(opened(openInit({ ourIdentity: bob, qrPrekeys: [] }, pdu, NOW)).body.content)).toBe('no qpk');
    expect(openInit({ ourIdentity: generateKeyPair(), qrPrekeys: [] }, pdu, NOW)).toBeNull();
  });
});

describe('v1 session', () => {
  it('confirms the initiator on the first Session PDU; later Init copies and late Inits still open once', () => {
    const aliceId = generateKeyPair();
    const bobId = generateKeyPair();
    let alice = initiate({ ourIdentity: aliceId, theirIdentityPublic: bobId.publicKey }, NOW);
    const inits = [0, 1, 2].map(() => {
      const r = sealed(seal(alice, text(`init ${alice.ns}`), { copies: 2 }, NOW));
      alice = r.state;
      return r.pdus;
    });
    const ctx = (existing?: typeof alice) => ({ ourIdentity: bobId, qrPrekeys: [], existing: () => existing });
    const first = opened(openInit(ctx(), inits[2]![0]!, NOW)); // the last Init arrives first
    let bob = first.state;
    expect(first.n).toBe(2);
    const reply = sealed(seal(bob, text('reply'), {}, NOW));
    bob = reply.state;
    const got = opened(openSession(alice, reply.pdu, NOW));
    alice = got.state;
    expect(alice.confirmed).toBe(true);
    // Alice's next message is a Session PDU on a new epoch (it carries her new ratchet key).
    const session = sealed(seal(alice, text('session'), {}, NOW));
    bob = opened(openSession(bob, session.pdu, NOW)).state;
    // Late Init PDUs (n = 0, 1) still open through the skipped seeds; copies of consumed ones are duplicates.
    for (const n of [0, 1]) {
      const late = opened(openInit(ctx(bob), inits[n]![1]!, NOW));
      expect(textOf(late.body.content)).toBe(`init ${n}`);
      bob = late.state;
      expect(openInit(ctx(bob), inits[n]![0]!, NOW)).toMatchObject({ duplicate: true });
    }
    expect(openInit(ctx(bob), inits[2]![1]!, NOW)).toMatchObject({ duplicate: true });
  });

  it('never mutates its input state and keeps it JSON-serialisable', () => {
    const { alice, bob } = establish(NOW);
    const before = JSON.stringify(bob);
    const r = sealed(seal(bob, text('x'), { copies: 2 }, NOW));
    expect(JSON.stringify(bob)).toBe(before);
    const aliceBefore = JSON.stringify(alice);
    const o = opened(openSession(alice, r.pdu, NOW));
    expect(JSON.stringify(alice)).toBe(aliceBefore);
    expect(JSON.parse(JSON.stringify(o.state))).toEqual(o.state);
    expect(Object.values(o.state).every((v) => ['string', 'number', 'boolean', 'object', 'undefined'].includes(typeof v))).toBe(true);
    // The nested parts too: skipped seeds taken out (n = 2 before n = 1), an ackv marking sent messages,
    // and the initiator's init fields dropped on confirmation.
    let carol = o.state;
    const skippedOne = sealed(seal(r.state, text('y'), {}, NOW));
    const second = sealed(seal(skippedOne.state, text('z'), {}, NOW));
    carol = opened(openSession(carol, second.pdu, NOW)).state;
    const withSkipped = JSON.stringify(carol);
    expect(carol.recv.some((epoch) => epoch.skipped.length > 0)).toBe(true);
    const usedSkipped = opened(openSession(carol, skippedOne.pdu, NOW)).state;
    expect(JSON.stringify(carol)).toBe(withSkipped);
    const answer = sealed(seal(usedSkipped, text('ack'), {}, NOW));
    const bobBefore = JSON.stringify(second.state);
    const acked = opened(openSession(second.state, answer.pdu, NOW));
    expect(acked.acked.length).toBeGreaterThan(0);
    expect(JSON.stringify(second.state)).toBe(bobBefore);
    const fresh = establish(NOW);
    const initiatorBefore = JSON.stringify(fresh.alice);
    expect(fresh.alice.init).toBeDefined();
    const reply = sealed(seal(fresh.bob, text('r'), {}, NOW));
    expect(opened(openSession(fresh.alice, reply.pdu, NOW)).state.init).toBeUndefined();
    expect(JSON.stringify(fresh.alice)).toBe(initiatorBefore);
  });

  it('refuses message W+1 of one sending epoch with window_full, and opens a new epoch once the peer answers', () => {
    let { alice, bob } = establish(NOW);
    const pdus: Uint8Array[] = [];
    for (let i = 0; i < W; i++) {
      const r = sealed(seal(bob, text(`m${i}`), {}, NOW));
      bob = r.state;
      pdus.push(r.pdu);
    }
    expect(seal(bob, text('one too many'), {}, NOW)).toEqual({ error: 'window_full' });
    // Alice gets only the last one (a gap of W - 1): no "too many skipped" exists.
    const last = opened(openSession(alice, pdus[W - 1]!, NOW));
    alice = last.state;
    expect(last.n).toBe(W - 1);
    expect(skippedCount(alice)).toBe(W - 1);
    expect(pingDue(alice)).toBe(true);
    const ping = sealed(seal(alice, pingBody(), {}, NOW));
    alice = ping.state;
    expect(pingDue(alice)).toBe(false);
    const back = opened(openSession(bob, ping.pdu, NOW));
    expect(back.body.type).toBe(MessageType.PING);
    expect(pingDue(back.state)).toBe(false); // PINGs never trigger PINGs
    expect(back.acked).toEqual([{ epoch: 0, n: W - 1 }]);
    bob = back.state;
    expect('pdu' in seal(bob, text('new epoch'), {}, NOW)).toBe(true);
    for (let i = 0; i < W - 1; i++) alice = opened(openSession(alice, pdus[i]!, NOW)).state;
    expect(skippedCount(alice)).toBe(0);
  });

  it('seals one copy at a time from the same input state: same (epoch, n), same next state, other tag', () => {
    const { alice, bob } = establish(NOW, 2);
    const body = { ...text('one message'), msgId: new Uint8Array(16).fill(5) };
    const c0 = sealed(seal(bob, body, { copy: 0 }, NOW));
    const c1 = sealed(seal(bob, body, { copy: 1 }, NOW));
    expect(c0.ref).toEqual(c1.ref);
    expect(c0.state).toEqual(c1.state);
    expect(Buffer.from(c0.pdu.subarray(OFF_T, OFF_H))).not.toEqual(Buffer.from(c1.pdu.subarray(OFF_T, OFF_H)));
    const first = opened(openSession(alice, c1.pdu, NOW));
    expect(first.copy).toBe(1);
    expect(openSession(first.state, c0.pdu, NOW)).toEqual({ duplicate: true });
    expect(() => seal(bob, body, { copy: 2 }, NOW)).toThrow(RangeError);
  });

  it('rejects any copy of a consumed (epoch, n) as a duplicate by tag alone', () => {
    let { alice, bob } = establish(NOW);
    const r = sealed(seal(bob, text('twice'), { copies: 2 }, NOW));
    bob = r.state;
    alice = opened(openSession(alice, r.pdus[0]!, NOW)).state;
    expect(openSession(alice, r.pdus[0]!, NOW)).toEqual({ duplicate: true });
    expect(openSession(alice, r.pdus[1]!, NOW)).toEqual({ duplicate: true });
    const table = TagTable.fromStates([alice]);
    expect(table.lookup(r.pdus[1]!.subarray(OFF_T, OFF_H))).toMatchObject({ sessionId: alice.id, n: 0, copy: 1, consumed: true });
  });

  it('deletes skipped seeds 14 days after storing them', () => {
    let { alice, bob } = establish(NOW);
    const pdus: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const r = sealed(seal(bob, text(`m${i}`), {}, NOW));
      bob = r.state;
      pdus.push(r.pdu);
    }
    alice = opened(openSession(alice, pdus[2]!, NOW)).state;
    expect(skippedCount(alice)).toBe(2);
    const day = 24 * 3600 * 1000;
    alice = opened(openSession(alice, pdus[0]!, NOW + 13 * day)).state;
    expect(openSession(alice, pdus[1]!, NOW + 14 * day)).toBeNull();
  });

  it('tags cover the current and next epochs for every n < W and copy; a tampered PDU is not ours', () => {
    let { alice, bob } = establish(NOW, 2);
    expect(tagsOf(alice).length).toBe(W * 2); // only the next epoch: Bob's first reply
    const r = sealed(seal(bob, text('x'), {}, NOW));
    bob = r.state;
    alice = opened(openSession(alice, r.pdu, NOW)).state;
    expect(tagsOf(alice).length).toBe(2 * W * 2);
    const bad = r.pdu.slice();
    bad[2000]! ^= 1;
    bob = sealed(seal(bob, text('y'), {}, NOW)).state;
    expect(openSession(alice, bad, NOW)).toEqual({ duplicate: true });
    const r2 = sealed(seal(bob, text('z'), {}, NOW));
    const bad2 = r2.pdu.slice();
    bad2[2000]! ^= 1;
    expect(openSession(alice, bad2, NOW)).toBeNull();
    expect(opened(openSession(alice, r2.pdu, NOW)).n).toBe(2);
  });

  it('keeps skipped seeds within 3W and the tag table within 4·W·k per session over many epochs', () => {
    let { alice, bob } = establish(NOW, 2);
    for (let round = 0; round < 6; round++) {
      const pdus: Uint8Array[] = [];
      for (let i = 0; i < W; i++) {
        const r = sealed(seal(bob, text('m'), {}, NOW));
        bob = r.state;
        pdus.push(r.pdu);
      }
      alice = opened(openSession(alice, pdus[W - 1]!, NOW)).state;
      const ping = sealed(seal(alice, pingBody(), {}, NOW));
      alice = ping.state;
      bob = opened(openSession(bob, ping.pdu, NOW)).state;
      expect(skippedCount(alice)).toBeLessThanOrEqual(MAX_SKIPPED);
      expect(tagsOf(alice).length).toBeLessThanOrEqual(4 * W * 2);
    }
  });

  it('has no "too many skipped" path (I4): flow control replaces it', () => {
    for (const file of ['session.ts', 'tagTable.ts', 'body.ts', 'primitives.ts']) {
      expect(readFileSync(new URL(`../../electron/core/v1/${file}`, import.meta.url), 'utf8')).not.toMatch(/too.?many/i);
    }
  });

  it('chooses the same active session on both sides of a simultaneous Init, and detects rollback', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const fromA = initiate({ ourIdentity: a, theirIdentityPublic: b.publicKey }, NOW);
    const fromB = initiate({ ourIdentity: b, theirIdentityPublic: a.publicKey }, NOW);
    const bSide = opened(openInit({ ourIdentity: b, qrPrekeys: [] }, sealed(seal(fromA, text('a'), {}, NOW)).pdu, NOW)).state;
    const aSide = opened(openInit({ ourIdentity: a, qrPrekeys: [] }, sealed(seal(fromB, text('b'), {}, NOW)).pdu, NOW)).state;
    const activeA = chooseActive([fromA, aSide])!;
    const activeB = chooseActive([fromB, bSide])!;
    expect(activeA.initKey).toBe(activeB.initKey);
    const next = sealed(seal(fromA, text('c'), {}, NOW)).state;
    expect(next.counter).toBeGreaterThan(fromA.counter);
    expect(isStale(fromA, next.counter)).toBe(true);
    expect(isStale(next, next.counter)).toBe(false);
  });
});
