import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keyPairFromPrivate } from '../../electron/core/v1/primitives.js';
import { initiate, openInit, openSession } from '../../electron/core/v1/session.js';
import { seededRandom, textOf } from './helpers.js';
import { type V1Vectors, VECTOR_NOW, buildVectors } from './vectors.js';

const stored = JSON.parse(readFileSync(new URL('./vectors/v1-vectors.json', import.meta.url), 'utf8')) as V1Vectors;
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('v1 known-answer vectors', () => {
  it('recomputes the stored Init and Session PDUs byte for byte', () => {
    expect(buildVectors()).toEqual(stored);
  });

  it('opens the stored PDUs with the stored keys alone', () => {
    const bob = keyPairFromPrivate(bytes(stored.bob_identity_private));
    const qpk = { public: Buffer.from(bytes(stored.qpk_public)).toString('base64url'), private: Buffer.from(bytes(stored.qpk_private)).toString('base64url'), id: Buffer.from(bytes(stored.qpk_id)).toString('base64url') };
    const init = openInit({ ourIdentity: bob, qrPrekeys: [qpk] }, bytes(stored.init.pdu), VECTOR_NOW);
    if (!init || !('state' in init)) throw new Error('stored Init does not open');
    expect(textOf(init.body.content)).toBe(stored.init.content_utf8);
    expect(Buffer.from(init.theirIdentityPublic).toString('hex')).toBe(stored.alice_identity_public);
    expect(Buffer.from(init.state.id, 'base64url').toString('hex')).toBe(stored.init.session_id);
  });

  it("Alice's seeded state opens Bob's stored Session PDU", () => {
    const alice = keyPairFromPrivate(bytes(stored.alice_identity_private));
    const random = seededRandom(stored.random_seed_alice);
    const state = initiate({ ourIdentity: alice, theirIdentityPublic: bytes(stored.bob_identity_public), theirQrPrekey: { public: bytes(stored.qpk_public) }, random }, VECTOR_NOW);
    const opened = openSession(state, bytes(stored.session.pdu), VECTOR_NOW);
    if (!opened || 'duplicate' in opened) throw new Error('stored Session PDU does not open');
    expect(textOf(opened.body.content)).toBe(stored.session.content_utf8);
    expect(opened.body.wantReceipt).toBe(true);
    expect({ n: opened.n, copy: opened.copy }).toEqual({ n: stored.session.n, copy: stored.session.copy });
  });
});
