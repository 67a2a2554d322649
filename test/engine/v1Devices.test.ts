/**
 * Several devices of one identity (issue 17). With a contact whose client keeps per-device sessions
 * (`dd.pd`, electron/core/sessions/devices.ts) sessions go on, one per pair of devices; with one whose
 * client does not, the interim: version 0 with `dd.md`, and a v0 message from such a contact is no
 * reset. Real engines, a real drop server, a real link between two devices.
 */
import { describe, expect, it } from 'vitest';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { engineKit } from './helpers/engineKit.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const { server, engine, send, receive, dispatcher } = engineKit({ engine: { protocolV1: true }, readBeforeSend: true });

/** A v0 text from `from` to `to` whose `dd` is as given (what another client's outbox writes). */
async function v0With(from: ReturnType<typeof generateKeyPair>, to: string, text: string, dd: { v: number; md?: number }): Promise<Uint8Array> {
  const json = serializeDropMessage({
    version: 1,
    time_stamp: Date.now(),
    sender: Buffer.from(from.publicKey).toString('hex'),
    drop_payload: JSON.stringify({ msg: text }),
    drop_payload_type: 'box_message',
    acknowledge_id: '0',
    dd,
  });
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(json);
  return nativeBox.sealPdu(from, Buffer.from(to, 'hex'), payload);
}

describe('an identity on several devices', () => {
  it('with a contact keeping per-device sessions: after a few messages every device writes in sessions of its own, both devices read everything; no reset', { timeout: 120_000 }, async () => {
    const [d1, d2, bobEngine] = [await engine(), await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    const bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server().url });

    // A session first: Alice's v0 says she speaks v1, Bob answers with an Init, Alice writes in it.
    await send(d1, alice, bob, 'hello');
    await receive(bobEngine, alice, 'hello');
    await send(bobEngine, bob, alice, 'hi (Init)');
    expect(await receive(d1, bob, 'hi (Init)')).toMatchObject({ protocol: 1 });
    await send(d1, alice, bob, 'in the session');
    expect(await receive(bobEngine, alice, 'in the session')).toMatchObject({ protocol: 1 });

    await link(d1, alice, d2);
    // Bob and Alice's devices learn each other's lists and per-device capability from the link's
    // announcement and from the first messages (version 0 while a side lacks the other's list).
    // Whatever the protocol, everything reaches both of Alice's devices and Bob.
    let round = 0;
    const settled = await waitFor(async () => {
      round++;
      await send(bobEngine, bob, alice, `to alice ${round}`);
      const atD1 = await receive(d1, bob, `to alice ${round}`);
      const atD2 = await receive(d2, bob, `to alice ${round}`);
      await send(d1, alice, bob, `from the desktop ${round}`);
      await send(d2, alice, bob, `from the laptop ${round}`);
      const fromD1 = await receive(bobEngine, alice, `from the desktop ${round}`);
      const fromD2 = await receive(bobEngine, alice, `from the laptop ${round}`);
      return [atD1, atD2, fromD1, fromD2].every((m) => m.protocol === 1) ? round : null;
    }, 'every device writes in sessions', 90_000);
    expect(settled).toBeLessThanOrEqual(3);
    // No reset on either side: Bob's sessions with each of Alice's devices are not a reset of the first.
    const all = [...d1.of('inbox/batch'), ...d2.of('inbox/batch'), ...bobEngine.of('inbox/batch')].flatMap((b) => b.messages);
    expect(all.some((m) => m.unconfirmedSession)).toBe(false);
    const atBob = (await bobEngine.call('sessions/status', { identityId: bob.id })).contacts[alice.publicKey];
    expect(atBob).toMatchObject({ protocol: 1 });
    expect(atBob?.reason).toBeUndefined();
    expect(atBob?.reset).toBeUndefined();
    for (const device of [d1, d2]) {
      const status = (await device.call('sessions/status', { identityId: alice.id })).contacts[bob.publicKey];
      expect(status).toMatchObject({ protocol: 1 });
      expect(status?.reason).toBeUndefined();
    }

    // A third device: the link carries what the desktop knows of Bob's devices, so its very first
    // message to him goes in a session with his device, not as a version-0 box his key alone opens.
    const d3 = await engine();
    await link(d1, alice, d3);
    await send(d3, alice, bob, 'first from the third device');
    expect(await receive(bobEngine, alice, 'first from the third device')).toMatchObject({ protocol: 1 });
  });

  it('a contact whose client keeps no per-device sessions (dd.md without dd.pd) gets version 0 and writes it (the interim)', async () => {
    const [d1, d2] = [await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    await link(d1, alice, d2);
    const other = generateKeyPair();
    const otherHex = Buffer.from(other.publicKey).toString('hex');
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    await client.post(alice.dropUrls[0]!, await v0With(other, alice.publicKey, 'an older client', { v: 1 }));
    const status = await waitFor(async () => {
      await receiveAndAck(d1, 0, 'batches');
      return (await d1.call('sessions/status', { identityId: alice.id })).contacts[otherHex];
    }, 'the older client speaks v1');
    // Alice is on two devices, the contact's client would keep one session with one of them.
    expect(status).toEqual({ protocol: 0, since: null, reason: 'ownDevices' });
  });

  it('a later dd without md (one device again) clears the mark; the upgrade applies again', async () => {
    const carolEngine = await engine();
    const carol = await carolEngine.call('identities/create', { alias: 'carol', serverUrl: server().url });
    const other = generateKeyPair();
    const otherHex = Buffer.from(other.publicKey).toString('hex');
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    const statusOf = async () => (await carolEngine.call('sessions/status', { identityId: carol.id })).contacts[otherHex];
    await client.post(carol.dropUrls[0]!, await v0With(other, carol.publicKey, 'two devices', { v: 1, md: 1 }));
    await waitFor(async () => {
      await receiveAndAck(carolEngine, 0, 'batches');
      return (await statusOf())?.reason === 'peerDevices' ? true : null;
    }, 'marked');
    await client.post(carol.dropUrls[0]!, await v0With(other, carol.publicKey, 'one device again', { v: 1 }));
    await waitFor(async () => {
      await receiveAndAck(carolEngine, 0, 'batches');
      const entry = await statusOf();
      return entry && entry.reason === undefined ? true : null;
    }, 'cleared');
    // No reason any more: a peer that speaks v1 on one device, whom the usual upgrade applies to.
    expect(await statusOf()).toEqual({ protocol: 0, since: null });
  });
});
