/**
 * Sibling sync (issue 17, shared/modules/sync.ts, electron/core/devices/sync.ts): two linked engines of
 * one identity and a contact, a real drop server. What one device sends, the other hears of as a
 * `box_sync` from the identity itself; a stranger's forgery, a replayed PDU and malformed payloads are
 * never delivered; a sibling's receipt ends the sync message's re-posting.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { BOX_SYNC, type SyncContent, type SyncSentItem } from '../../shared/modules/sync.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const { server, engine, dispatcher } = engineKit({ engine: { protocolV1: true } });

async function selfId(e: TestEngine, identity: IdentitySummary): Promise<string> {
  return (await e.call('devices/list', { identityId: identity.id })).devices.find((d) => d.self)!.deviceId;
}

/**
 * Acknowledges every batch as the UI does: receipts for a contact's messages at the contact's drops,
 * and for a sibling's sync (not this device's own) at the identity's own drops.
 */
async function ackAll(e: TestEngine, me: IdentitySummary, myDevice: string, contacts: IdentitySummary[], acked: Set<string>): Promise<void> {
  for (const batch of e.of('inbox/batch')) {
    if (acked.has(batch.batchId)) continue;
    acked.add(batch.batchId);
    const receipts = batch.messages.flatMap((m) => {
      if (m.content.type === BOX_SYNC) return m.senderKey === me.publicKey && m.content.device !== myDevice ? [{ dedupeKey: m.dedupeKey, dropUrls: me.dropUrls }] : [];
      const contact = contacts.find((c) => c.publicKey === m.senderKey);
      return contact ? [{ dedupeKey: m.dedupeKey, dropUrls: contact.dropUrls }] : [];
    });
    await e.call('inbox/ack', { batchId: batch.batchId, receipts });
  }
}

const syncsOf = (e: TestEngine): (IncomingMessage & { content: SyncContent })[] =>
  e.of('inbox/batch').flatMap((b) => b.messages.filter((m): m is IncomingMessage & { content: SyncContent } => m.content.type === BOX_SYNC));

/** A version-0 PDU sealed by `from` for `to`, its JSON as given. */
function sealed(from: ReturnType<typeof generateKeyPair>, to: string, message: Parameters<typeof serializeDropMessage>[0]): Promise<Uint8Array> {
  const json = serializeDropMessage(message);
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(json);
  return nativeBox.sealPdu(from, Buffer.from(to, 'hex'), payload);
}

describe('sibling sync between two devices of one identity', () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let bobEngine: TestEngine;
  let alice: IdentitySummary;
  let bob: IdentitySummary;
  let d1Id: string;
  let d2Id: string;
  const acked = new Map<TestEngine, Set<string>>();
  const ack = async (e: TestEngine) => {
    if (!acked.has(e)) acked.set(e, new Set());
    if (e === bobEngine) await ackAll(e, bob, '', [alice], acked.get(e)!);
    else await ackAll(e, alice, e === d1 ? d1Id : d2Id, [bob], acked.get(e)!);
  };

  beforeAll(async () => {
    [d1, d2, bobEngine] = [await engine(), await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server().url });
  });

  it('sends nothing while the identity is on one device', async () => {
    expect(await d1.call('devices/sync', { identityId: alice.id, items: [{ kind: 'read', contact: bob.publicKey, upTo: 1 }] })).toEqual({ messages: 0 });
    await d1.call('messages/send', { identityId: alice.id, localId: 'alone', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, text: 'alone' });
    await waitFor(() => d1.of('outbox/status').find((s) => s.localId === 'alone' && s.status === 'posted'), 'posted');
    await d1.engine.fetchOnce();
    expect(syncsOf(d1)).toEqual([]);
    expect(d1.of('outbox/status').filter((s) => s.localId.startsWith('sync-'))).toEqual([]);
  });

  it('a text sent on one device reaches the other as sent, with its receipt ids; receipts reach both', async () => {
    await link(d1, alice, d2);
    [d1Id, d2Id] = [await selfId(d1, alice), await selfId(d2, alice)];
    expect(d1Id).not.toBe(d2Id);

    const sent = await d1.call('messages/send', { identityId: alice.id, localId: 'from-desktop', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, text: 'hello from the desktop' });
    const atD2 = await waitFor(async () => {
      await d2.engine.fetchOnce();
      await ack(d2);
      return syncsOf(d2).find((m) => m.content.items.some((i) => i.kind === 'sent' && i.localId === 'from-desktop'));
    }, 'the sync on the laptop');
    expect(atD2.senderKey).toBe(alice.publicKey);
    expect(atD2.content.device).toBe(d1Id);
    const item = atD2.content.items.find((i): i is SyncSentItem => i.kind === 'sent')!;
    expect(item).toMatchObject({ contact: bob.publicKey, localId: 'from-desktop', count: 1, index: 0, text: 'hello from the desktop', ackIds: sent.acknowledgeIds });
    // Not a chat message: no text for the UI to show by mistake.
    expect(atD2.text).toBeNull();

    // The desktop reads its own sync too (same drops): the UI tells it apart by the device id.
    const own = await waitFor(async () => {
      await d1.engine.fetchOnce();
      await ack(d1);
      return syncsOf(d1).find((m) => m.content.device === d1Id);
    }, 'the desktop reads its own sync');
    expect(own.content.items[0]).toMatchObject({ localId: 'from-desktop' });

    // Bob's receipt for the text comes to the drops both devices read: the laptop can confirm its copy.
    await waitFor(async () => {
      await bobEngine.engine.fetchOnce();
      await ack(bobEngine);
      return bobEngine.of('inbox/batch').some((b) => b.messages.some((m) => m.text === 'hello from the desktop'));
    }, 'Bob reads it');
    const receipt = await waitFor(async () => {
      await d2.engine.fetchOnce();
      await ack(d2);
      return d2.of('inbox/batch').flatMap((b) => b.receipts).find((r) => r.senderKey === bob.publicKey && sent.acknowledgeIds.includes(r.acknowledgeId));
    }, 'the receipt on the laptop');
    expect(receipt.identityId).toBe(alice.id);

    // The laptop's receipt for the sync (to our own drops) ends the desktop's re-posting of it.
    const syncLocalId = d1.of('outbox/status').find((s) => s.localId.startsWith('sync-'))!.localId;
    await waitFor(async () => {
      await d1.engine.fetchOnce();
      await ack(d1);
      return d1.of('outbox/delivered').find((d) => d.localId === syncLocalId);
    }, 'the sync acknowledged by the laptop');
  });

  it('a long text comes in fragments that together give it back', async () => {
    const text = `${'long "quoted" text \\ with ünïcödé 🙂 '.repeat(160)}end`;
    await d2.call('messages/send', { identityId: alice.id, localId: 'long-from-laptop', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, text });
    const fragments = await waitFor(async () => {
      await d1.engine.fetchOnce();
      await ack(d1);
      const items = syncsOf(d1)
        .flatMap((m) => m.content.items)
        .filter((i): i is SyncSentItem => i.kind === 'sent' && i.localId === 'long-from-laptop' && i.text !== undefined);
      const byIndex = new Map(items.map((i) => [i.index!, i]));
      return items.length > 0 && byIndex.size === items[0]!.count ? byIndex : null;
    }, 'every fragment on the desktop');
    expect(fragments.size).toBeGreaterThan(1);
    expect([...fragments.keys()].sort((a, b) => a - b).map((i) => fragments.get(i)!.text).join('')).toBe(text);
  });

  it('read state and contact changes (a rename, a deletion) from the UI reach the sibling', async () => {
    const result = await d1.call('devices/sync', {
      identityId: alice.id,
      items: [
        { kind: 'read', contact: bob.publicKey, upTo: 1_700_000_000_000 },
        { kind: 'contact', contact: bob.publicKey, clock: 3, op: 'put', alias: 'Bobby', aliasFromUser: true, status: 'verified', dropUrls: bob.dropUrls },
        { kind: 'contact', contact: 'c'.repeat(64), clock: 4, op: 'del' },
      ],
    });
    expect(result).toEqual({ messages: 1 });
    const got = await waitFor(async () => {
      await d2.engine.fetchOnce();
      await ack(d2);
      return syncsOf(d2).find((m) => m.content.items.some((i) => i.kind === 'contact'));
    }, 'the contact change on the laptop');
    expect(got.content.items).toEqual([
      { kind: 'read', contact: bob.publicKey, upTo: 1_700_000_000_000 },
      { kind: 'contact', contact: bob.publicKey, clock: 3, op: 'put', alias: 'Bobby', aliasFromUser: true, status: 'verified', dropUrls: bob.dropUrls },
      { kind: 'contact', contact: 'c'.repeat(64), clock: 4, op: 'del' },
    ]);
  });

  it('ignores a stranger’s sync (own key or forged sender), malformed syncs and a replayed PDU', async () => {
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    const stranger = generateKeyPair();
    const strangerHex = Buffer.from(stranger.publicKey).toString('hex');
    const forgedItems = { device: d1Id, items: [{ kind: 'contact', contact: bob.publicKey, clock: 99, op: 'del' }] };
    const base = { version: 1, time_stamp: Date.now(), drop_payload_type: BOX_SYNC, acknowledge_id: '0' };
    const before = d2.of('inbox/batch').flatMap((b) => b.messages).length;
    const malformedBefore = (await d2.call('servers/status', {})).reduce((sum, s) => sum + s.malformedMessages, 0);
    // A stranger who knows our key: as themselves, and claiming to be us in the sender field.
    await client.post(alice.dropUrls[0]!, await sealed(stranger, alice.publicKey, { ...base, sender: strangerHex, drop_payload: JSON.stringify(forgedItems) }));
    await client.post(alice.dropUrls[0]!, await sealed(stranger, alice.publicKey, { ...base, sender: alice.publicKey, drop_payload: JSON.stringify(forgedItems) }));
    // Malformed payloads (from the stranger: only they can be crafted here; the module's checks are the same for anyone).
    for (const payload of ['{}', '{"device":"zz","items":[]}', JSON.stringify({ device: d1Id, items: [{ kind: 'sent', contact: bob.publicKey, localId: 'x', sentAt: 1, count: 1, index: 5, text: 'y' }] })]) {
      await client.post(alice.dropUrls[0]!, await sealed(stranger, alice.publicKey, { ...base, sender: strangerHex, drop_payload: payload }));
    }
    // A real message after them, so the poll is known to have read past them.
    const marker = await sealed(stranger, alice.publicKey, { ...base, sender: strangerHex, drop_payload: JSON.stringify({ msg: 'marker' }), drop_payload_type: 'box_message' });
    await client.post(alice.dropUrls[0]!, marker);
    await waitFor(async () => {
      await d2.engine.fetchOnce();
      await ack(d2);
      return d2.of('inbox/batch').some((b) => b.messages.some((m) => m.text === 'marker'));
    }, 'the marker');
    const arrived = d2.of('inbox/batch').flatMap((b) => b.messages).slice(before);
    expect(arrived.filter((m) => m.content.type === BOX_SYNC && m.senderKey !== alice.publicKey)).toEqual([]);
    expect([...new Set(arrived.filter((m) => m.senderKey === strangerHex).map((m) => m.text))]).toEqual(['marker']);
    // The forged sender field and the three malformed payloads count as malformed; the honest-looking
    // stranger's sync is dropped without a word.
    const malformedAfter = (await d2.call('servers/status', {})).reduce((sum, s) => sum + s.malformedMessages, 0);
    expect(malformedAfter - malformedBefore).toBe(4);

    // Every PDU of the drop posted again (a replaying server): no sync is delivered a second time.
    const countsOf = () => {
      const counts = new Map<string, number>();
      for (const m of syncsOf(d2)) counts.set(m.dedupeKey, (counts.get(m.dedupeKey) ?? 0) + 1);
      return counts;
    };
    const deliveredBefore = countsOf();
    expect(deliveredBefore.size).toBeGreaterThan(0);
    const everything = await client.fetch(alice.dropUrls[0]!, null);
    const pdus = everything.status === 'messages' ? everything.items : [];
    expect(pdus.length).toBeGreaterThan(5);
    for (const pdu of pdus) await client.post(alice.dropUrls[0]!, pdu.body);
    const replayMarker = await sealed(stranger, alice.publicKey, { ...base, sender: strangerHex, drop_payload: JSON.stringify({ msg: 'after the replay' }), drop_payload_type: 'box_message' });
    await client.post(alice.dropUrls[0]!, replayMarker);
    await waitFor(async () => {
      await d2.engine.fetchOnce();
      await ack(d2);
      return d2.of('inbox/batch').some((b) => b.messages.some((m) => m.text === 'after the replay'));
    }, 'the replay read');
    expect(countsOf()).toEqual(deliveredBefore);
  });
});
