/**
 * Known-answer vectors of v1: fixed identity keys and a seeded random source (every key pair, E and
 * msg_id come from it), one Init PDU (with a QR prekey) and Bob's first Session PDU in reply.
 * `node --import tsx test/v1/generateVectors.ts` rewrites test/v1/vectors/v1-vectors.json from this.
 */
import { MessageType } from '../../electron/core/v1/body.js';
import { keyPairFromPrivate } from '../../electron/core/v1/primitives.js';
import { initiate, newQrPrekey, openInit, seal } from '../../electron/core/v1/session.js';
import { sealed, seededRandom } from './helpers.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
export const VECTOR_NOW = 1_764_460_800_000; // 2025-11-30T00:00:00Z

export interface V1Vectors {
  description: string;
  alice_identity_private: string;
  alice_identity_public: string;
  bob_identity_private: string;
  bob_identity_public: string;
  qpk_private: string;
  qpk_public: string;
  qpk_id: string;
  random_seed_alice: string;
  random_seed_bob: string;
  now_ms: number;
  init: { body_type: number; content_utf8: string; session_id: string; pdu: string };
  session: { body_type: number; content_utf8: string; epoch: number; n: number; copy: number; pdu: string };
}

export function buildVectors(): V1Vectors {
  const alice = keyPairFromPrivate(Buffer.from('a8'.repeat(32), 'hex'));
  const bob = keyPairFromPrivate(Buffer.from('b0'.repeat(32), 'hex'));
  const aliceRandom = seededRandom('deaddrop v1 vectors: alice');
  const bobRandom = seededRandom('deaddrop v1 vectors: bob');
  const qpk = newQrPrekey(VECTOR_NOW, bobRandom);
  const state = initiate({ ourIdentity: alice, theirIdentityPublic: bob.publicKey, theirQrPrekey: { public: Buffer.from(qpk.public, 'base64url') }, random: aliceRandom }, VECTOR_NOW);
  const initText = 'Hello Bob, this is Alice (v1 Init).';
  const init = sealed(seal(state, { type: MessageType.TEXT, content: Buffer.from(initText), tsMs: VECTOR_NOW }, { random: aliceRandom }, VECTOR_NOW));
  const opened = openInit({ ourIdentity: bob, qrPrekeys: [qpk], random: bobRandom }, init.pdu, VECTOR_NOW);
  if (!opened || !('state' in opened)) throw new Error('vector Init does not open');
  const replyText = 'Hello Alice (v1 Session).';
  const reply = sealed(seal(opened.state, { type: MessageType.TEXT, content: Buffer.from(replyText), tsMs: VECTOR_NOW + 1, wantReceipt: true }, { copies: 2, random: bobRandom }, VECTOR_NOW));
  return {
    description: 'Deaddrop protocol v1 known answers (electron/core/v1). Keys hex; randomness: SHA-256(seed || decimal counter) blocks, see test/v1/helpers.ts seededRandom.',
    alice_identity_private: hex(alice.privateKey),
    alice_identity_public: hex(alice.publicKey),
    bob_identity_private: hex(bob.privateKey),
    bob_identity_public: hex(bob.publicKey),
    qpk_private: Buffer.from(qpk.private, 'base64url').toString('hex'),
    qpk_public: Buffer.from(qpk.public, 'base64url').toString('hex'),
    qpk_id: Buffer.from(qpk.id, 'base64url').toString('hex'),
    random_seed_alice: 'deaddrop v1 vectors: alice',
    random_seed_bob: 'deaddrop v1 vectors: bob',
    now_ms: VECTOR_NOW,
    init: { body_type: MessageType.TEXT, content_utf8: initText, session_id: Buffer.from(state.id, 'base64url').toString('hex'), pdu: hex(init.pdu) },
    session: { body_type: MessageType.TEXT, content_utf8: replyText, epoch: reply.ref.epoch, n: reply.ref.n, copy: 1, pdu: hex(reply.pdus[1]!) },
  };
}
