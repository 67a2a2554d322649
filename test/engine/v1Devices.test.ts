/**
 * Several devices of one identity (issue 17), the interim before per-device sessions: a linked identity
 * writes version 0 only, with `dd.md`; its contacts stop writing in sessions to it (no reset), so what
 * they send reaches every device. Real engines, a real drop server, a real link between two devices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

let server: ServerProcess;
const engines: TestEngine[] = [];
const dispatcher = new Agent();

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  for (const engine of engines) await engine.close().catch(() => undefined);
  await server?.stop();
  await dispatcher.close();
  for (const engine of engines) removeDir(engine.dataDir);
});

async function engine(): Promise<TestEngine> {
  const started = await startTestEngine({ protocolV1: true });
  engines.push(started);
  return started;
}

let sends = 0;
async function send(from: TestEngine, identity: IdentitySummary, to: IdentitySummary, body: string): Promise<void> {
  const localId = `m-${++sends}`;
  await receiveAndAck(from, 0, 'batches', to);
  await from.call('messages/send', { identityId: identity.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text: body });
  await waitFor(() => from.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
}

async function receive(engine: TestEngine, sender: IdentitySummary, body: string): Promise<IncomingMessage> {
  return waitFor(async () => {
    await receiveAndAck(engine, 0, 'batches', sender);
    return engine
      .of('inbox/batch')
      .flatMap((b) => b.messages)
      .find((m) => m.text === body && m.senderKey === sender.publicKey);
  }, `"${body}" received`);
}

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

describe('an identity on several devices (interim: version 0 with dd.md)', () => {
  it('after the notice, the contact writes version 0 and both devices read it; no reset', async () => {
    const [d1, d2, bobEngine] = [await engine(), await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server.url });

    // A session first: Alice's v0 says she speaks v1, Bob answers with an Init, Alice writes in it.
    await send(d1, alice, bob, 'hello');
    await receive(bobEngine, alice, 'hello');
    await send(bobEngine, bob, alice, 'hi (Init)');
    expect(await receive(d1, bob, 'hi (Init)')).toMatchObject({ protocol: 1 });
    await send(d1, alice, bob, 'in the session');
    expect(await receive(bobEngine, alice, 'in the session')).toMatchObject({ protocol: 1 });
    expect((await bobEngine.call('sessions/status', { identityId: bob.id })).contacts[alice.publicKey]).toMatchObject({ protocol: 1 });

    await link(d1, alice, d2);
    // Both devices know the identity is on two: version 0 to everyone, and the header says why.
    for (const device of [d1, d2]) {
      const status = await device.call('sessions/status', { identityId: alice.id });
      expect(status.contacts[bob.publicKey] ?? { protocol: 0, reason: 'ownDevices' }).toMatchObject({ protocol: 0, reason: 'ownDevices' });
    }
    expect((await d1.call('sessions/status', { identityId: alice.id })).contacts[bob.publicKey]).toMatchObject({ protocol: 0, reason: 'ownDevices' });

    // The UI tells every contact right after the link (a contact update): version 0 with dd.md.
    await receiveAndAck(d1, 0, 'batches', bob);
    await d1.call('messages/send', { identityId: alice.id, localId: 'notice', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, content: { type: 'box_contact_update' } });
    const notice = await waitFor(async () => {
      await receiveAndAck(bobEngine, 0, 'batches', alice);
      return bobEngine
        .of('inbox/batch')
        .flatMap((b) => b.messages)
        .find((m) => m.type === 'box_contact_update' && m.senderKey === alice.publicKey);
    }, 'the notice');
    expect(notice).toMatchObject({ protocol: 0, senderProtocol: 1 });
    const atBob = await waitFor(async () => {
      const entry = (await bobEngine.call('sessions/status', { identityId: bob.id })).contacts[alice.publicKey];
      return entry?.reason === 'peerDevices' ? entry : null;
    }, 'Bob marks Alice as on several devices');
    // Not a reset: Alice's v0 message says why it is v0.
    expect(atBob).toEqual({ protocol: 0, since: null, reason: 'peerDevices' });

    // Everything Bob sends now is version 0, and reaches both of Alice's devices.
    for (const body of ['after the notice 1', 'after the notice 2']) {
      await send(bobEngine, bob, alice, body);
      expect(await receive(d1, bob, body)).toMatchObject({ protocol: 0 });
      expect(await receive(d2, bob, body)).toMatchObject({ protocol: 0 });
    }
    // Alice answers from the new device; Bob reads it and still asks for no reset.
    await send(d2, alice, bob, 'from the laptop');
    expect(await receive(bobEngine, alice, 'from the laptop')).toMatchObject({ protocol: 0, senderProtocol: 1 });
    expect(bobEngine.of('inbox/batch').flatMap((b) => b.messages).filter((m) => m.senderKey === bob.publicKey)).toEqual([]);
    const after = (await bobEngine.call('sessions/status', { identityId: bob.id })).contacts[alice.publicKey];
    expect(after).toEqual({ protocol: 0, since: null, reason: 'peerDevices' });
    // Receipts too go as v0: no Session PDU from either side after the notice.
    const lateAtAlice = [...d1.of('inbox/batch'), ...d2.of('inbox/batch')].flatMap((b) => b.messages).filter((m) => m.text?.startsWith('after the notice'));
    expect(lateAtAlice.every((m) => m.protocol === 0)).toBe(true);
  });

  it('a later dd without md (one device again) clears the mark; the upgrade applies again', async () => {
    const carolEngine = await engine();
    const carol = await carolEngine.call('identities/create', { alias: 'carol', serverUrl: server.url });
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
