/**
 * The drops epoch of version-1 sessions (PROTOCOL-V1.md 2c step 3): every Session PDU carries the
 * sender's `sender_drops_epoch` inside its encrypted header; a message names the sender's first drop
 * (an intro, like v0 meta data) until the peer acknowledged one that did at the current epoch; a peer
 * that sees a newer epoch without a list asks for it (DROPS_REQ) and gets a contact update. Real
 * engines through a real drop server; the header field through the ratchet library.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { OFF_B, OFF_H, openInit, openSession, seal } from '../../electron/core/v1/session.js';
import { dropsEpochNewer } from '../../electron/core/sessions/receiver.js';
import { bodyOfDropMessage, namesDrops, withIntro } from '../../electron/core/sessions/content.js';
import { type Body, MessageType } from '../../electron/core/v1/body.js';
import type { BodyInput } from '../../electron/core/v1/session.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { establish, sealed, text } from '../v1/helpers.js';

let server: ServerProcess;
const engines: TestEngine[] = [];

interface Party {
  engine: TestEngine;
  identity: IdentitySummary;
}

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  for (const engine of engines) await engine.close().catch(() => undefined);
  await server?.stop();
  for (const engine of engines) removeDir(engine.dataDir);
});

/** The engines' clock runs this far ahead of the wall clock (moved on to pass the once-an-hour limits). */
let ahead = 0;

async function user(alias: string): Promise<Party> {
  const engine = await startTestEngine({ protocolV1: true, clock: { now: () => Date.now() + ahead } });
  engines.push(engine);
  return { engine, identity: await engine.call('identities/create', { alias, serverUrl: server.url }) };
}

let sends = 0;
/** Sends as the UI does (every batch acknowledged first), to the drops `toDrops` (the sender's contact book). */
async function send(from: Party, to: IdentitySummary, toDrops: readonly string[], body: string): Promise<void> {
  const localId = `e-${++sends}`;
  await receiveAndAck(from.engine, 0, 'batches', to);
  await from.engine.call('messages/send', { identityId: from.identity.id, localId, recipient: { publicKey: to.publicKey, dropUrls: [...toDrops] }, text: body, wantReceipt: true });
  await waitFor(() => from.engine.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
}

async function receive(at: Party, from: IdentitySummary, match: (m: IncomingMessage) => boolean, what: string): Promise<IncomingMessage> {
  return waitFor(async () => {
    await receiveAndAck(at.engine, 0, 'batches', from);
    return at.engine
      .of('inbox/batch')
      .flatMap((b) => b.messages)
      .find((m) => m.senderKey === from.publicKey && match(m));
  }, what);
}

const byText = (body: string) => (m: IncomingMessage) => m.text === body;

describe('sender_drops_epoch in the session header', () => {
  it('is sealed inside the authenticated header: read back as sealed, and any changed header byte makes the PDU unopenable', () => {
    const now = 1_000_000;
    const { alice, bob } = establish(now);
    // Bob answers, so Alice writes Session PDUs from then on.
    const reply = sealed(seal(bob, text('hi'), { dropsEpoch: 7 }, now));
    const atAlice = openSession(alice, reply.pdu, now);
    expect(atAlice && 'state' in atAlice ? atAlice.dropsEpoch : null).toBe(7);
    const pdu = sealed(seal(atAlice && 'state' in atAlice ? atAlice.state : alice, text('moved'), { dropsEpoch: 0xbeef }, now)).pdu;
    const opened = openSession(reply.state, pdu, now);
    expect(opened && 'state' in opened ? opened.dropsEpoch : null).toBe(0xbeef);
    for (const offset of [OFF_H, OFF_H + 38, OFF_B - 1]) {
      const changed = Uint8Array.from(pdu);
      changed[offset]! ^= 0x01;
      expect(openSession(reply.state, changed, now)).toBeNull();
    }
  });

  it('travels in Init PDUs too (their prefix), and defaults to 0', () => {
    const now = 2_000_000;
    const { alice, bobIdentity, qpk } = establish(now);
    const second = sealed(seal(alice, text('again'), { dropsEpoch: 3 }, now));
    const opened = openInit({ ourIdentity: bobIdentity, qrPrekeys: [qpk] }, second.pdu, now);
    expect(opened && 'state' in opened ? opened.dropsEpoch : null).toBe(3);
    const third = sealed(seal(second.state, text('default'), {}, now));
    const openedDefault = openInit({ ourIdentity: bobIdentity, qrPrekeys: [qpk] }, third.pdu, now);
    expect(openedDefault && 'state' in openedDefault ? openedDefault.dropsEpoch : null).toBe(0);
  });

  it('counts an intro or a contact update as naming the sender’s drops, nothing else', () => {
    const message = (type: string, payload: unknown) => ({ version: 0, time_stamp: 1, sender: 'a'.repeat(64), acknowledge_id: '0', drop_payload_type: type, drop_payload: JSON.stringify(payload) });
    const update = bodyOfDropMessage(message('box_contact_update', { alias: 'a', drop_urls: ['http://127.0.0.1:1/x'], revision: 1 }), 1900)!;
    const chat = bodyOfDropMessage(message('box_message', { msg: 'hi' }), 1900)!;
    const micro = bodyOfDropMessage(message('box_microblog', { msg: 'hi', post_id: 'p' }), 1900)!;
    const full = (b: BodyInput): Body => ({ msgId: new Uint8Array(16), tsMs: 1, wantReceipt: false, finalPart: false, ackv: undefined, content: new Uint8Array(0), ...b });
    expect(namesDrops(full(update))).toBe(true);
    expect(namesDrops(full(chat))).toBe(false);
    expect(namesDrops(full(micro))).toBe(false);
    expect(namesDrops(full(withIntro(chat, { alias: 'a', dropUrl: 'http://127.0.0.1:1/x' }, 1900)!))).toBe(true);
    expect(namesDrops(full({ type: MessageType.PING }))).toBe(false);
  });

  it('compares as a wrapping u16 serial number', () => {
    expect(dropsEpochNewer(1, 0)).toBe(true);
    expect(dropsEpochNewer(0, 0)).toBe(false);
    expect(dropsEpochNewer(0, 1)).toBe(false);
    expect(dropsEpochNewer(0, 0xffff)).toBe(true);
    expect(dropsEpochNewer(0x7fff, 0)).toBe(true);
    expect(dropsEpochNewer(0x8000, 0)).toBe(false);
  });
});

describe('drop moves between version-1 engines', () => {
  let alice: Party, bob: Party;
  let aliceDrops: string[];

  it('names the first drop until the peer acknowledged a message that did, then no more', async () => {
    alice = await user('alice');
    bob = await user('bob');
    aliceDrops = [...alice.identity.dropUrls];
    await send(alice, bob.identity, bob.identity.dropUrls, 'hello (v0)');
    await receive(bob, alice.identity, byText('hello (v0)'), 'hello');
    await send(bob, alice.identity, aliceDrops, 'hi (Init)');
    expect(await receive(alice, bob.identity, byText('hi (Init)'), 'hi')).toMatchObject({ protocol: 1 });

    await send(alice, bob.identity, bob.identity.dropUrls, 'first Session PDU');
    // Alice cannot know yet whether Bob has her drops: the message names her first one.
    expect(await receive(bob, alice.identity, byText('first Session PDU'), 'first')).toMatchObject({ protocol: 1, meta: { dropUrl: aliceDrops[0] } });
    // Bob's receipt (its acknowledgement vector) tells Alice he has them.
    await send(bob, alice.identity, aliceDrops, 'bob answers');
    await receive(alice, bob.identity, byText('bob answers'), 'answer');
    await waitFor(async () => {
      await receiveAndAck(alice.engine, 0, 'batches', bob.identity);
      return alice.engine.of('inbox/batch').flatMap((b) => b.receipts).length > 0 ? true : null;
    }, "Bob's receipt");
    await send(alice, bob.identity, bob.identity.dropUrls, 'nothing to name');
    expect(await receive(bob, alice.identity, byText('nothing to name'), 'plain')).toMatchObject({ protocol: 1, meta: null });
  });

  it('after a move, the next message names the new drop', async () => {
    const moved = await alice.engine.call('identities/moveDrop', { identityId: alice.identity.id, fromDropUrl: aliceDrops[0]!, serverUrl: server.url });
    expect(moved.dropUrls[0]).not.toBe(aliceDrops[0]);
    alice.identity = moved;
    await send(alice, bob.identity, bob.identity.dropUrls, 'after the move');
    expect(await receive(bob, alice.identity, byText('after the move'), 'moved')).toMatchObject({ protocol: 1, meta: { dropUrl: moved.dropUrls[0] } });
    // Bob writes to where his book says (the old drop, still read): the receipt and his answer arrive.
    await send(bob, alice.identity, aliceDrops, 'bob to the old drop');
    expect(await receive(alice, bob.identity, byText('bob to the old drop'), 'old drop')).toMatchObject({ dropUrl: aliceDrops[0] });
    aliceDrops = [...moved.dropUrls];
  });

  it('a newer epoch without a list (a receipt after a second move) makes the peer ask, and it gets a contact update', async () => {
    // Bob has the list of the first move; Alice moves again and writes nothing, but answers his message
    // with a receipt: its header says epoch + 1 and names no drop.
    // A PING or receipt of Alice's may have made Bob ask once already after the first move (once an
    // hour at most): an hour and more later.
    ahead += 2 * 3600_000;
    const again = await alice.engine.call('identities/moveDrop', { identityId: alice.identity.id, fromDropUrl: aliceDrops[0]!, serverUrl: server.url });
    alice.identity = again;
    await send(bob, alice.identity, aliceDrops, 'bob after the second move');
    await receive(alice, bob.identity, byText('bob after the second move'), 'second');
    const isNewList = (m: IncomingMessage) => m.content?.type === 'box_contact_update' && m.content.dropUrls[0] === again.dropUrls[0];
    // Both UIs store and acknowledge what comes meanwhile, as they always do (a batch of Alice's left
    // unacknowledged would hold the session and keep Bob's request unread).
    const update = await waitFor(
      async () => {
        await receiveAndAck(alice.engine, 0, 'batches', bob.identity);
        await receiveAndAck(bob.engine, 0, 'batches', alice.identity);
        return bob.engine
          .of('inbox/batch')
          .flatMap((b) => b.messages)
          .find(isNewList);
      },
      'contact update',
      30_000,
    );
    expect(update).toMatchObject({ protocol: 1, content: { type: 'box_contact_update', dropUrls: again.dropUrls, alias: 'alice' } });
    // One request, one answer: nothing else comes of it (an hour between requests, between answers).
    await receiveAndAck(alice.engine, 0, 'batches', bob.identity);
    await receiveAndAck(bob.engine, 0, 'batches', alice.identity);
    const updates = new Set(bob.engine.of('inbox/batch').flatMap((b) => b.messages).filter(isNewList).map((m) => m.dedupeKey));
    expect(updates.size).toBe(1);
  });

  it('a message sealed before a move that arrives after a newer one does not bring the old drop back', async () => {
    const carol = await user('carol');
    const dave = await user('dave');
    dave.identity = await dave.engine.call('identities/addDrop', { identityId: dave.identity.id, serverUrl: server.url });
    const [daveA, daveB] = dave.identity.dropUrls as [string, string];
    const carolOld = carol.identity.dropUrls[0]!;
    await send(carol, dave.identity, [daveA], 'hello (v0)');
    await receive(dave, carol.identity, byText('hello (v0)'), 'hello');
    await send(dave, carol.identity, [carolOld], 'hi (Init)');
    await receive(carol, dave.identity, byText('hi (Init)'), 'hi');
    await send(carol, dave.identity, [daveA], 'in the session');
    expect(await receive(dave, carol.identity, byText('in the session'), 'session')).toMatchObject({ protocol: 1, meta: { dropUrl: carolOld } });

    // Sealed at the old epoch to Dave's second drop, then Carol moves and writes to his first. Dave,
    // not polling meanwhile, reads his first drop first, so the older message comes after the newer one.
    await dave.engine.call('poller/setPaused', { paused: true });
    await send(carol, dave.identity, [daveB], 'sealed before the move');
    const moved = await carol.engine.call('identities/moveDrop', { identityId: carol.identity.id, fromDropUrl: carolOld, serverUrl: server.url });
    await send(carol, dave.identity, [daveA], 'sealed after the move');
    await dave.engine.engine.fetchOnce();
    await dave.engine.call('poller/setPaused', { paused: false });
    const newer = await receive(dave, carol.identity, byText('sealed after the move'), 'newer');
    expect(newer).toMatchObject({ protocol: 1, meta: { dropUrl: moved.dropUrls[0] } });
    const older = await receive(dave, carol.identity, byText('sealed before the move'), 'older');
    const order = dave.engine.of('inbox/batch').flatMap((b) => b.messages).map((m) => m.text);
    expect(order.indexOf('sealed after the move')).toBeLessThan(order.indexOf('sealed before the move'));
    // Its drops epoch is older than the list Dave has: its intro names nothing to take.
    expect(older).toMatchObject({ protocol: 1, dropUrl: daveB, meta: null });
  });
});
