/** Shared fixtures of the v1 tests: identities, a deterministic random source, body shortcuts. */
import { createHash } from 'node:crypto';
import { MessageType } from '../../electron/core/v1/body.js';
import { type RandomSource, generateKeyPair } from '../../electron/core/v1/primitives.js';
import { type BodyInput, type SessionState, type SealResult, initiate, newQrPrekey, openInit, seal } from '../../electron/core/v1/session.js';

/** A deterministic random source: SHA-256 in counter mode over a seed (test vectors, reproducible runs). */
export function seededRandom(seed: string): RandomSource {
  let counter = 0;
  return (length) => {
    const out = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += 32) {
      const block = createHash('sha256').update(seed).update(String(counter++)).digest();
      out.set(block.subarray(0, Math.min(32, length - offset)), offset);
    }
    return out;
  };
}

export const text = (value: string): BodyInput => ({ type: MessageType.TEXT, content: new TextEncoder().encode(value) });
export const textOf = (content: Uint8Array): string => new TextDecoder().decode(content);

export function sealed(result: SealResult): Extract<SealResult, { pdu: Uint8Array }> {
  if ('error' in result) throw new Error(`seal refused: ${result.error}`);
  return result;
}

/** Alice (initiator, with Bob's QR prekey) and Bob after Bob opened Alice's first Init PDU. */
export function establish(now = 1_000_000, copies = 2): {
  alice: SessionState;
  bob: SessionState;
  aliceIdentity: ReturnType<typeof generateKeyPair>;
  bobIdentity: ReturnType<typeof generateKeyPair>;
  qpk: ReturnType<typeof newQrPrekey>;
} {
  const aliceIdentity = generateKeyPair();
  const bobIdentity = generateKeyPair();
  const qpk = newQrPrekey(now);
  let alice = initiate({ ourIdentity: aliceIdentity, theirIdentityPublic: bobIdentity.publicKey, theirQrPrekey: { public: Buffer.from(qpk.public, 'base64url') }, copies }, now);
  const first = sealed(seal(alice, text('hello'), { copies: 1 }, now));
  alice = first.state;
  const opened = openInit({ ourIdentity: bobIdentity, qrPrekeys: [qpk], copies }, first.pdu, now);
  if (!opened || !('state' in opened)) throw new Error('Bob could not open the Init PDU');
  return { alice, bob: opened.state, aliceIdentity, bobIdentity, qpk };
}
