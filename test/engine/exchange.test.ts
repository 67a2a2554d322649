import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

let server: ServerProcess;
let alice: TestEngine;
let bob: TestEngine;
let aliceId: IdentitySummary;
let bobId: IdentitySummary;

beforeAll(async () => {
  server = await startServerProcess();
  alice = await startTestEngine();
  bob = await startTestEngine();
  aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
  bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  for (const e of [alice, bob]) if (e) removeDir(e.dataDir);
});

describe('two engines through the API', () => {
  it('exchange messages both ways, and receipts come back', async () => {
    const sent = await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'a-1',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'hello bob',
    });
    expect(sent.acknowledgeIds).toHaveLength(1);
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'a-1' && s.status === 'posted'), 'alice posted');

    const [atBob] = await receiveAndAck(bob, 1, 'bob receives', aliceId);
    expect(atBob).toMatchObject({ identityId: bobId.id, senderKey: aliceId.publicKey, type: 'box_message', text: 'hello bob' });
    expect(atBob!.meta).toMatchObject({ alias: 'alice', dropUrl: aliceId.dropUrls[0], publicKey: aliceId.publicKey });
    expect(atBob!.acknowledgeId).toBe(sent.acknowledgeIds[0]);

    // Bob's engine answers the receipt once the batch is stored; it lands in Alice's inbox.
    const receipt = await waitFor(() => alice.of('inbox/batch').flatMap((b) => b.receipts)[0], 'receipt at alice');
    expect(receipt).toMatchObject({ identityId: aliceId.id, senderKey: bobId.publicKey, acknowledgeId: sent.acknowledgeIds[0] });

    await bob.call('messages/send', {
      identityId: bobId.id,
      localId: 'b-1',
      recipient: { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls },
      text: 'hi alice',
      wantReceipt: false,
    });
    const atAlice = await receiveAndAck(alice, 1, 'alice receives', bobId);
    expect(atAlice.map((m) => m.text)).toEqual(['hi alice']);
    expect(atAlice[0]!.acknowledgeId).toBe('0');
  });

  it('splits a long text into ordered pieces', async () => {
    const text = Array.from({ length: 900 }, (_, i) => `word${i}`).join(' ');
    const sent = await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'a-long',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text,
    });
    expect(sent.parts).toBeGreaterThan(1);
    const messages = (await receiveAndAck(bob, 1 + sent.parts, 'all pieces', aliceId)).filter((m) => m.part);
    expect(messages.map((m) => m.part!.index)).toEqual(Array.from({ length: sent.parts }, (_, i) => i));
    expect(messages.map((m) => m.text).join('')).toBe(text);
  });

  it('reports no capability beyond the engine, answers its channels `unavailable`, and validates requests', async () => {
    expect((await alice.call('app/info', {})).capabilities).toEqual({ localServer: false, notifications: false, cameraGate: false, desktopSettings: false, externalLinks: false, debugLog: false, fileDialogs: false });
    await expect(alice.call('localServer/status', {})).rejects.toThrow(/unavailable/);
    await expect(alice.call('links/open', { url: 'https://example.org/' })).rejects.toThrow(/unavailable/);
    await expect(alice.call('messages/send', { identityId: aliceId.id, localId: 'x', recipient: { publicKey: 'zz', dropUrls: [] }, text: 'x' } as never)).rejects.toThrow(/invalid_request/);
    expect((await alice.call('app/info', {})).locked).toBe(false);
  });
});

describe('bad recipients', () => {
  it('refuses an unusable recipient key with bad_input', async () => {
    const server = await startServerProcess();
    const engine = await startTestEngine({ autoPoll: false });
    try {
      const me = await engine.call('identities/create', { alias: 'me', serverUrl: server.url });
      await expect(
        engine.call('messages/send', { identityId: me.id, localId: 'zero', recipient: { publicKey: '0'.repeat(64), dropUrls: me.dropUrls }, text: 'x' }),
      ).rejects.toThrow(/bad_input/);
      await expect(
        engine.call('messages/send', { identityId: 'nobody', localId: 'nobody', recipient: { publicKey: me.publicKey, dropUrls: me.dropUrls }, text: 'x' }),
      ).rejects.toThrow(/not_found/);
    } finally {
      await engine.close();
      await server.stop();
      removeDir(engine.dataDir);
    }
  });
});

describe('receipts only where the consumer says', () => {
  it('answers only the receipts the UI names, at the drop URLs it names (none for strangers, ignored or blocked senders)', async () => {
    const send = (localId: string, text: string) =>
      alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text });
    const arrival = (acknowledgeId: string | undefined, what: string) =>
      waitFor(
        () => bob.of('inbox/batch').flatMap((b) => b.messages.map((m) => ({ batchId: b.batchId, m }))).find(({ m }) => m.acknowledgeId === acknowledgeId),
        what,
      );
    const withheld = await send('w-1', 'from someone bob blocked');
    const first = await arrival(withheld.acknowledgeIds[0], 'bob receives the first message');
    // Not named (a request, or a sender the user ignored or blocked): no receipt, also not for a key
    // of another batch named by mistake.
    await bob.call('inbox/ack', { batchId: first.batchId, receipts: [{ dedupeKey: 'not-in-this-batch', dropUrls: aliceId.dropUrls }] });
    const answered = await send('w-2', 'after the block was lifted');
    const second = await arrival(answered.acknowledgeIds[0], 'bob receives the second message');
    await bob.call('inbox/ack', { batchId: second.batchId, receipts: [{ dedupeKey: second.m.dedupeKey, dropUrls: aliceId.dropUrls }] });
    const receipts = () => alice.of('inbox/batch').flatMap((b) => b.receipts).map((r) => r.acknowledgeId);
    await waitFor(() => receipts().includes(answered.acknowledgeIds[0]!), 'receipt for the second message');
    await bob.engine.settled();
    await alice.call('poller/pollNow', {});
    await alice.engine.settled();
    expect(receipts()).not.toContain(withheld.acknowledgeIds[0]);

    // Later the user accepts the sender: the UI answers the receipt it held back.
    await bob.call('receipts/send', { identityId: bobId.id, recipient: { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls }, acknowledgeIds: [withheld.acknowledgeIds[0]!] });
    await waitFor(() => receipts().includes(withheld.acknowledgeIds[0]!), 'the held receipt at alice');
    await expect(bob.call('receipts/send', { identityId: bobId.id, recipient: { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls }, acknowledgeIds: ['0'] })).rejects.toThrow(/invalid_request/);
  });
});
