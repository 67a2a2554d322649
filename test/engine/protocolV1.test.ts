/**
 * Protocol version 1 between real engines through a real drop server: the upgrade from version 0, an
 * Init from a DEADDROP1 card, every module over a session, v0-only peers, crash safety between opening
 * a batch and its acknowledgement, and strangers' v1 PDUs in our drop.
 */
import { describe, expect, it } from 'vitest';
import type { IdentitySummary, Recipient } from '../../shared/ipc/contract.js';
import { parseContactStringV1 } from '../../shared/protocol/contacts.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { initiate, seal } from '../../electron/core/v1/session.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu } from './helpers/craft.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { sealed, text } from '../v1/helpers.js';

// `send` as the UI does: every batch stored and acknowledged before the user writes (a session held by
// an unacknowledged batch waits for it before sealing).
const kit = engineKit({ engine: { protocolV1: true }, readBeforeSend: true });
const { engine, user, receive, dispatcher } = kit;
const client = new DropClient({ dispatcher, timeoutMs: 5000 });

/** `v1`: the version-1 part of `to`'s card, as the UI passes it for a first message from a card. */
const send = (from: { engine: TestEngine; identity: IdentitySummary }, to: IdentitySummary, body: string, v1?: Recipient['v1']) =>
  kit.send(from.engine, from.identity, v1 ? { ...to, v1 } : to, body);

describe('protocol version 1 between engines', () => {
  it('two engines upgrade from version 0 after one message each way, with receipts over the session', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await send(alice, bob.identity, 'hello (v0, says it speaks v1)');
    const first = await receive(bob.engine, alice.identity, 'hello (v0, says it speaks v1)');
    expect(first).toMatchObject({ protocol: 0, senderProtocol: 1 });

    await send(bob, alice.identity, 'hi (Init)');
    expect(await receive(alice.engine, bob.identity, 'hi (Init)')).toMatchObject({ protocol: 1 });

    const third = await send(alice, bob.identity, 'third (Session PDU)');
    const atBob = await receive(bob.engine, alice.identity, 'third (Session PDU)');
    expect(atBob).toMatchObject({ protocol: 1, acknowledgeId: third.acknowledgeIds[0], dedupeKey: expect.stringMatching(/^[0-9a-f]{64}:v1:[0-9a-f]{32}$/) });
    // Bob's receipt travels as a v1 RECEIPT and arrives as the same receipt the outbox waits for.
    await waitFor(() => alice.engine.of('inbox/batch').flatMap((b) => b.receipts).find((r) => r.acknowledgeId === third.acknowledgeIds[0]), 'receipt');

    const status = await alice.engine.call('sessions/status', { identityId: alice.identity.id });
    expect(status.sending).toBe(true);
    expect(status.contacts[bob.identity.publicKey]).toEqual({ protocol: 1, since: expect.any(Number) });

    await send(bob, alice.identity, 'fourth (Session PDU)');
    expect(await receive(alice.engine, bob.identity, 'fourth (Session PDU)')).toMatchObject({ protocol: 1 });
    // Long texts go as pieces, over the session too.
    const long = Array.from({ length: 900 }, (_, i) => `word${i}`).join(' ');
    const accepted = await send(alice, bob.identity, long);
    expect(accepted.parts).toBeGreaterThan(1);
    const pieces = await waitFor(async () => {
      await receiveAndAck(bob.engine, 0, 'batches', alice.identity);
      const got = new Map(bob.engine.of('inbox/batch').flatMap((b) => b.messages).filter((m) => m.part).map((m) => [m.dedupeKey, m]));
      return got.size >= accepted.parts ? [...got.values()] : null;
    }, 'pieces');
    expect(pieces.every((m) => m.protocol === 1)).toBe(true);
    expect(pieces.sort((a, b) => a.part!.index - b.part!.index).map((m) => m.text).join('')).toBe(long);
  });

  it('an Init from a DEADDROP1 card works before any reply; other modules travel over the session', async () => {
    const carol = await user('carol');
    const dave = await user('dave');
    const card = await dave.engine.call('identities/contactCard', { identityId: dave.identity.id });
    const contact = parseContactStringV1(card.v1ContactString);
    const v1 = { qrPrekey: contact.v1!.qrPrekey, qrPrekeyExpiresDay: contact.v1!.qrPrekeyExpiresDay };
    await send(carol, dave.identity, 'first, from your card', v1);
    expect(await receive(dave.engine, carol.identity, 'first, from your card')).toMatchObject({ protocol: 1 });
    await send(dave, carol.identity, 'reply');
    expect(await receive(carol.engine, dave.identity, 'reply')).toMatchObject({ protocol: 1 });

    await carol.engine.call('messages/send', {
      identityId: carol.identity.id,
      localId: 'update-1',
      recipient: { publicKey: dave.identity.publicKey, dropUrls: dave.identity.dropUrls, v1 },
      content: { type: 'box_contact_update' },
    });
    await carol.engine.call('messages/send', {
      identityId: carol.identity.id,
      localId: 'post-1',
      recipient: { publicKey: dave.identity.publicKey, dropUrls: dave.identity.dropUrls, v1 },
      content: { type: 'box_microblog', text: 'a post', postId: '6f1c1b8e-1111-4222-8333-944445555666' },
    });
    const others = await waitFor(async () => {
      await receiveAndAck(dave.engine, 0, 'batches', carol.identity);
      // A poll while a batch waits for its acknowledgement repeats its messages: the UI keeps them by key.
      const got = [...new Map(dave.engine.of('inbox/batch').flatMap((b) => b.messages).filter((m) => m.type !== 'box_message').map((m) => [m.dedupeKey, m])).values()];
      return got.length >= 2 ? got : null;
    }, 'update and post');
    expect(others.map((m) => [m.type, m.protocol]).sort()).toEqual([
      ['box_contact_update', 1],
      ['box_microblog', 1],
    ]);
    expect(others.find((m) => m.content.type === 'box_contact_update')!.content).toMatchObject({ alias: 'carol' });
  });

  it('a version-0-only peer (an original client) keeps working, and gets version 0 back', async () => {
    const erin = await user('erin');
    const old = generateNativeKeyPair();
    const oldKey = Buffer.from(old.publicKey).toString('hex');
    await client.post(erin.identity.dropUrls[0]!, await craftPdu({ from: old, to: erin.identity.publicKey, text: 'from an old client' }));
    const oldIdentity = { ...erin.identity, publicKey: oldKey };
    expect(await receive(erin.engine, oldIdentity, 'from an old client')).toMatchObject({ protocol: 0, senderProtocol: 0 });
    // Erin answers; the answer must be a v0 box the old client opens.
    const oldDrop = erin.identity.dropUrls[0]!.replace(/[^/]+$/, 'A'.repeat(43));
    await erin.engine.call('messages/send', { identityId: erin.identity.id, localId: 'to-old', recipient: { publicKey: oldKey, dropUrls: [oldDrop] }, text: 'answer' });
    await waitFor(() => erin.engine.of('outbox/status').find((s) => s.localId === 'to-old' && s.status === 'posted'), 'posted');
    const fetched = await client.fetch(oldDrop, null, {});
    expect(fetched.status).toBe('messages');
  });

  it('the engine closed between opening a batch and its acknowledgement delivers each message once', async () => {
    const frank = await user('frank');
    const grace = await user('grace');
    await send(frank, grace.identity, 'hello');
    await receive(grace.engine, frank.identity, 'hello');
    await send(grace, frank.identity, 'init back');
    await receive(frank.engine, grace.identity, 'init back');
    await send(frank, grace.identity, 'one');
    // Grace's engine opens the batch and is closed without acknowledging it.
    await waitFor(() => grace.engine.of('inbox/batch').flatMap((b) => b.messages).find((m) => m.text === 'one'), 'opened once');
    const dataDir = grace.engine.dataDir;
    await grace.engine.close();
    const again = await engine({ dataDir });
    const replayed = await receive(again, frank.identity, 'one');
    expect(replayed.protocol).toBe(1);
    await send(frank, grace.identity, 'two');
    await receive(again, frank.identity, 'two');
    await again.engine.settled();
    // Each message under one key (batches repeat until acknowledged; the UI keeps messages by key), and
    // the replay opened the same message, not another.
    const keys = (text: string) => new Set(again.of('inbox/batch').flatMap((b) => b.messages).filter((m) => m.text === text).map((m) => m.dedupeKey));
    expect(keys('one').size).toBe(1);
    expect(keys('two').size).toBe(1);
    const before = grace.engine.of('inbox/batch').flatMap((b) => b.messages).find((m) => m.text === 'one')!;
    expect([...keys('one')]).toEqual([before.dedupeKey]);
  });

  it('a drop full of version-1 PDUs for someone else costs no error and shows nothing', async () => {
    const heidi = await user('heidi');
    const now = Date.now();
    for (let i = 0; i < 40; i++) {
      const a = generateKeyPair();
      const b = generateKeyPair();
      const state = initiate({ ourIdentity: a, theirIdentityPublic: b.publicKey }, now);
      await client.post(heidi.identity.dropUrls[0]!, sealed(seal(state, text(`not for heidi ${i}`), {}, now)).pdu);
    }
    await heidi.engine.engine.fetchOnce();
    await heidi.engine.engine.settled();
    expect(heidi.engine.of('inbox/batch').flatMap((b) => b.messages)).toEqual([]);
    const status = await heidi.engine.call('servers/status', {});
    expect(status.every((s) => s.malformedMessages === 0 && s.lastError === null)).toBe(true);
  });

  it('a restored backup starts without sessions and never seals in an old chain', async () => {
    const ivan = await user('ivan');
    const judy = await user('judy');
    await send(ivan, judy.identity, 'v0 hello');
    await receive(judy.engine, ivan.identity, 'v0 hello');
    await send(judy, ivan.identity, 'judy init');
    expect(await receive(ivan.engine, judy.identity, 'judy init')).toMatchObject({ protocol: 1 });
    expect((await judy.engine.call('sessions/status', { identityId: judy.identity.id })).contacts[ivan.identity.publicKey]?.protocol).toBe(1);

    const { transferId } = await judy.engine.call('backup/exportBegin', { identityId: judy.identity.id, includeHistory: false });
    const emptyUi = { contacts: [], conversations: [], messages: [], textParts: [], seen: [] };
    await judy.engine.call('backup/upload', { transferId, offset: 0, data: Buffer.from(JSON.stringify(emptyUi)).toString('base64url') });
    const { size } = await judy.engine.call('backup/exportSeal', { transferId, passphrase: 'backup passphrase 1' });
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < size; ) {
      const { data } = await judy.engine.call('backup/download', { transferId, offset });
      const chunk = Buffer.from(data, 'base64url');
      chunks.push(chunk);
      offset += chunk.length;
    }
    await judy.engine.call('backup/discard', { transferId });
    await judy.engine.call('identities/delete', { identityId: judy.identity.id });
    const file = Buffer.concat(chunks);
    const started = await judy.engine.call('backup/importBegin', {});
    for (let offset = 0; offset < file.length; offset += 256 * 1024) {
      await judy.engine.call('backup/upload', { transferId: started.transferId, offset, data: file.subarray(offset, offset + 256 * 1024).toString('base64url') });
    }
    await judy.engine.call('backup/importOpen', { transferId: started.transferId, passphrase: 'backup passphrase 1' });
    const restored = await judy.engine.call('backup/importCommit', { transferId: started.transferId });
    expect(restored.id).toBe(judy.identity.id);
    expect((await judy.engine.call('sessions/status', { identityId: restored.id })).contacts).toEqual({});
    // Her next message is not sealed in the old session's chain: a v0 box (saying it speaks v1).
    await send({ engine: judy.engine, identity: restored }, ivan.identity, 'after restore');
    expect(await receive(ivan.engine, judy.identity, 'after restore')).toMatchObject({ protocol: 0, senderProtocol: 1 });
  });

  it('the engine PINGs by itself after a received message it did not answer, and never in answer to a PING', async () => {
    const timing = { pollBackoff: { baseMs: 100, maxMs: 800 }, sendRetry: { baseMs: 100, maxMs: 800, maxAttempts: 200 }, receiptRetry: { baseMs: 100, maxMs: 800, maxAttempts: 50 }, requestTimeoutMs: 5000, pingDelayMs: { min: 300, max: 400 } };
    const kim = await user('kim', { timing });
    const lee = await user('lee', { timing });
    const quiet = async (from: typeof kim, to: IdentitySummary, body: string, localId: string) => {
      await from.engine.call('messages/send', { identityId: from.identity.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text: body, wantReceipt: false });
      await waitFor(() => from.engine.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
    };
    const pdusIn = async (identity: IdentitySummary) => {
      const fetched = await client.fetch(identity.dropUrls[0]!, null, {});
      return fetched.status === 'messages' ? fetched.items.length : 0;
    };
    await quiet(kim, lee.identity, 'v0 hello', 'k-1');
    await receive(lee.engine, kim.identity, 'v0 hello');
    await quiet(lee, kim.identity, 'init', 'l-1');
    await receive(kim.engine, lee.identity, 'init');
    // Kim received a message and wrote nothing since: a PING follows in Lee's drop.
    await waitFor(async () => (await pdusIn(lee.identity)) >= 2, 'the PING in lee’s drop');
    await receiveAndAck(lee.engine, 0, 'batches');
    // Lee's engine opens the PING (nothing to show) and does not answer it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await receiveAndAck(lee.engine, 0, 'batches');
    expect(await pdusIn(kim.identity)).toBe(1);
    expect(await pdusIn(lee.identity)).toBe(2);
    expect(lee.engine.of('inbox/batch').flatMap((b) => b.messages).map((m) => m.text)).toEqual(['v0 hello']);
  });
});
