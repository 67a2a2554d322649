/**
 * Per-device sessions in the ratchet library (PROTOCOL-V1.md 5c): an Init addressed to one device of
 * an identity (its device prekey as the QPK) carries the sender's device id and opens on that device
 * only; a sibling holding the same identity key and its own device prekey gets `staleQpk` (the engine
 * skips it silently), and each device's session records which devices it joins.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { type OpenInitResult, initiate, newQrPrekey, openInit, openSession, seal } from '../../electron/core/v1/session.js';
import { sealed, seededRandom, text, textOf } from './helpers.js';

const NOW = 1_800_000_000_000;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function opened(result: OpenInitResult): Extract<OpenInitResult, { created: boolean }> {
  if (!result || !('state' in result)) throw new Error(`not opened: ${JSON.stringify(result)}`);
  return result;
}

describe('per-device Init PDUs', () => {
  const alice = generateKeyPair();
  const bob = generateKeyPair();
  const aliceDevice = new Uint8Array(Buffer.from('a1a1a1a1a1a1a1a1', 'hex'));
  // Bob's two devices: one identity key, a device prekey each.
  const b1 = { id: 'b1b1b1b1b1b1b1b1', prekey: newQrPrekey(NOW, seededRandom('b1')) };
  const b2 = { id: 'b2b2b2b2b2b2b2b2', prekey: newQrPrekey(NOW, seededRandom('b2')) };
  const to = (device: typeof b1) =>
    initiate({ ourIdentity: alice, theirIdentityPublic: bob.publicKey, theirQrPrekey: { public: Buffer.from(device.prekey.public, 'base64url') }, deviceId: aliceDevice, theirDevice: device.id }, NOW);

  it('an Init to one device carries our device id and opens on that device only', () => {
    const state = to(b1);
    expect(state.theirDevice).toBe(b1.id);
    expect(hex(Buffer.from(state.deviceId, 'base64url'))).toBe(hex(aliceDevice));
    const first = sealed(seal(state, text('to b1'), {}, NOW));
    const atB1 = opened(openInit({ ourIdentity: bob, qrPrekeys: [b1.prekey], deviceId: new Uint8Array(Buffer.from(b1.id, 'hex')) }, first.pdu, NOW));
    expect(textOf(atB1.body.content)).toBe('to b1');
    expect(atB1.theirDevice).toBe(hex(aliceDevice));
    expect(atB1.state.theirDevice).toBe(hex(aliceDevice));
    expect(hex(Buffer.from(atB1.state.deviceId, 'base64url'))).toBe(b1.id);
    // The sibling holds the identity key (S opens) but not b1's prekey: nothing of the body.
    expect(openInit({ ourIdentity: bob, qrPrekeys: [b2.prekey], deviceId: new Uint8Array(Buffer.from(b2.id, 'hex')) }, first.pdu, NOW)).toEqual({ staleQpk: true, theirIdentityPublic: alice.publicKey });
    // b1 answers in the session; only Alice's session with b1 opens it.
    const reply = sealed(seal(atB1.state, text('from b1'), {}, NOW));
    const atAlice = openSession(first.state, reply.pdu, NOW);
    expect(atAlice && 'body' in atAlice ? textOf(atAlice.body.content) : null).toBe('from b1');
    const other = sealed(seal(to(b2), text('to b2'), {}, NOW));
    expect(openSession(other.state, reply.pdu, NOW)).toBeNull();
  });

  it('two devices of one sender are two sessions; an Init naming no device records none', () => {
    const fromA1 = sealed(seal(to(b1), text('a1'), {}, NOW));
    const fromA2 = sealed(seal(initiate({ ourIdentity: alice, theirIdentityPublic: bob.publicKey, theirQrPrekey: { public: Buffer.from(b1.prekey.public, 'base64url') }, deviceId: new Uint8Array(Buffer.from('a2a2a2a2a2a2a2a2', 'hex')), theirDevice: b1.id }, NOW), text('a2'), {}, NOW));
    const one = opened(openInit({ ourIdentity: bob, qrPrekeys: [b1.prekey] }, fromA1.pdu, NOW));
    const two = opened(openInit({ ourIdentity: bob, qrPrekeys: [b1.prekey] }, fromA2.pdu, NOW));
    expect(one.state.id).not.toBe(two.state.id);
    expect([one.state.theirDevice, two.state.theirDevice]).toEqual(['a1a1a1a1a1a1a1a1', 'a2a2a2a2a2a2a2a2']);
    const plain = sealed(seal(initiate({ ourIdentity: alice, theirIdentityPublic: bob.publicKey }, NOW), text('no device'), {}, NOW));
    const none = opened(openInit({ ourIdentity: bob, qrPrekeys: [] }, plain.pdu, NOW));
    expect(none.theirDevice).toBeNull();
    expect(none.state.theirDevice).toBeUndefined();
  });
});
