import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import { type SyncItem, sentItems } from '../../../shared/modules/sync.js';
import type { DeaddropDatabase } from '../db/database.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { type SyncIdentity, takeSiblingSync } from './syncApply.js';
import { contactItem } from './syncOut.js';
import { sharedFileOf } from '../files/receiveFile.js';

const key = (c: string) => c.repeat(64);
const ME = key('e');
const BOB = key('b');
const STRANGER = key('5');
const OWN_DROP = 'http://127.0.0.1:1/mine';
const HERE = '1111111111111111';
const SIBLING = '2222222222222222';
const identities = new Map<string, SyncIdentity>([['me', { publicKey: ME, dropUrls: [OWN_DROP], selfDevice: HERE }]]);

let counter = 0;
function sync(items: SyncItem[], overrides: Partial<IncomingMessage> & { device?: string } = {}): IncomingMessage {
  const { device = SIBLING, ...rest } = overrides;
  const n = ++counter;
  return {
    dedupeKey: `${ME}:sync-${n}`, identityId: 'me', senderKey: ME, type: 'box_sync', payload: '', content: { type: 'box_sync', device, items }, text: null, share: null, part: null,
    acknowledgeId: `sync-ack-${n}`, meta: null, sentAt: 1000, receivedAt: 2000, dropUrl: OWN_DROP, ...rest,
  };
}

function incoming(senderKey: string, dedupeKey: string, sentAt: number): IncomingMessage {
  return {
    dedupeKey, identityId: 'me', senderKey, type: 'box_message', payload: '', content: { type: 'box_message', msg: `text ${dedupeKey}`, part: null }, text: `text ${dedupeKey}`, share: null, part: null,
    acknowledgeId: `ack-${dedupeKey}`, meta: null, sentAt, receivedAt: sentAt, dropUrl: OWN_DROP,
  };
}

const bob = (): ContactRecord => ({ identityId: 'me', publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: ['http://127.0.0.1:1/bob'], offeredDropUrls: [], status: 'accepted', createdAt: 1 });
const batch = (messages: IncomingMessage[], receipts: EventMap['inbox/batch']['receipts'] = []): EventMap['inbox/batch'] => ({ batchId: `b${++counter}`, messages, receipts });

/** What engineSync does with a batch: sync first, then the writer with what is left. */
async function deliver(b: EventMap['inbox/batch']) {
  const taken = await takeSiblingSync(db, b, identities, 5000);
  const written = await writeInboxBatch(db, taken.batch);
  return { taken, written };
}

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('sync');
  await db.contacts.put(bob());
});
afterEach(deleteTestDatabases);

describe('sibling sync in the UI database', () => {
  it('shows a text sent on a sibling as sent by us, in time order, owes the sibling a receipt, and is never a chat row of its own', async () => {
    await deliver(batch([incoming(BOB, 'early', 100), incoming(BOB, 'late', 300)]));
    const items = sentItems({ contact: BOB, localId: 'L1', sentAt: 200, text: 'from the desktop', ackIds: ['a1'] });
    const { taken, written } = await deliver(batch([sync(items)]));
    expect(written).toMatchObject({ inserted: 0, dropped: 0 });
    expect(taken.owedReceipts).toEqual([{ dedupeKey: expect.stringContaining('sync-'), dropUrls: [OWN_DROP] }]);
    const rows = await db.messages.where('[identityId+contactKey+sortAt]').between(['me', BOB, 0], ['me', BOB, Infinity]).toArray();
    expect(rows.map((r) => [r.direction, r.text, r.sortAt])).toEqual([
      ['in', 'text early', 100],
      ['out', 'from the desktop', 200],
      ['in', 'text late', 300],
    ]);
    expect(rows[1]).toMatchObject({ id: 'out:L1', status: 'posted', localId: null, sentFrom: SIBLING, ackIds: ['a1'], read: true });
    // Counted once; the newest message (Bob's) stays the preview, and nothing is unread by it.
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ messageCount: 3, lastMessageAt: 300, unreadCount: 2 });
  });

  it('a receipt from the contact confirms the synced text, whether it came before or after the sync', async () => {
    // Before: it waits as an early receipt, then confirms the row the sync makes.
    await deliver(batch([], [{ identityId: 'me', senderKey: BOB, acknowledgeId: 'a1', receivedAt: 10 }]));
    await deliver(batch([sync(sentItems({ contact: BOB, localId: 'L1', sentAt: 200, text: 'one', ackIds: ['a1'] }))]));
    expect(await db.messages.get('out:L1')).toMatchObject({ status: 'delivered', ackedIds: ['a1'] });
    // After: the usual receipt path finds the row by its receipt id.
    await deliver(batch([sync(sentItems({ contact: BOB, localId: 'L2', sentAt: 210, text: 'two', ackIds: ['a2'] }))]));
    expect(await db.messages.get('out:L2')).toMatchObject({ status: 'posted' });
    await deliver(batch([], [{ identityId: 'me', senderKey: BOB, acknowledgeId: 'a2', receivedAt: 20 }]));
    expect(await db.messages.get('out:L2')).toMatchObject({ status: 'delivered' });
    // A receipt from ourselves (a sibling acknowledging our sync) touches nothing and waits nowhere.
    await deliver(batch([], [{ identityId: 'me', senderKey: ME, acknowledgeId: 'sync-ack-x', receivedAt: 30 }]));
    expect(await db.pendingReceipts.where('[identityId+senderKey]').equals(['me', ME]).count()).toBe(0);
  });

  it('joins a long text from fragments in any order, across batches, once', async () => {
    const text = `${'a long "text" with ünïcödé 🙂 and \\ '.repeat(60)}end`;
    const items = sentItems({ contact: BOB, localId: 'LONG', sentAt: 50, text, ackIds: ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'] });
    expect(items.filter((i) => i.kind === 'sent' && i.text !== undefined).length).toBeGreaterThan(2);
    const reversed = [...items].reverse();
    const half = Math.ceil(reversed.length / 2);
    await deliver(batch([sync(reversed.slice(0, half))]));
    expect(await db.messages.get('out:LONG')).toMatchObject({ text: '', parts: { count: items[0]!.count } });
    await deliver(batch([sync(reversed.slice(half))]));
    expect(await db.messages.get('out:LONG')).toMatchObject({ text, parts: null, ackIds: expect.arrayContaining(['p1', 'p6']) });
    expect(await db.textParts.count()).toBe(0);
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ messageCount: 1, lastMessagePreview: expect.stringContaining('a long "text"') });
  });

  it('applies a sync once: the same message again, or the same item in a new message, changes nothing', async () => {
    const message = sync(sentItems({ contact: BOB, localId: 'L1', sentAt: 200, text: 'once', ackIds: ['a1'] }));
    await deliver(batch([message]));
    const again = await deliver(batch([message]));
    expect(again.taken.applied).toBe(0);
    await deliver(batch([sync(sentItems({ contact: BOB, localId: 'L1', sentAt: 200, text: 'once', ackIds: ['a1'] }))]));
    expect(await db.messages.count()).toBe(1);
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ messageCount: 1 });
  });

  it('skips this device’s own sync (no receipt), a sync not sealed by the identity, and one for another contact’s row', async () => {
    const own = await deliver(batch([sync(sentItems({ contact: BOB, localId: 'MINE', sentAt: 1, text: 'x', ackIds: [] }), { device: HERE })]));
    expect(own.taken.owedReceipts).toEqual([]);
    const forged = await deliver(batch([sync(sentItems({ contact: BOB, localId: 'FORGED', sentAt: 1, text: 'x', ackIds: [] }), { senderKey: STRANGER })]));
    expect(forged.taken.owedReceipts).toEqual([]);
    expect(forged.written.inserted).toBe(0);
    expect(await db.messages.count()).toBe(0);
    // A row of that id to another contact is never taken over.
    await db.messages.put({
      id: 'out:CLASH', identityId: 'me', contactKey: key('c'), direction: 'out', kind: 'text', text: 'theirs', payloadType: 'box_message', payload: '', share: null,
      sortAt: 1, createdAt: 1, status: 'posted', localId: 'CLASH', error: null, ackIds: [], ackedIds: [], parts: null, read: true,
    });
    await deliver(batch([sync(sentItems({ contact: BOB, localId: 'CLASH', sentAt: 2, text: 'other', ackIds: [] }))]));
    expect(await db.messages.get('out:CLASH')).toMatchObject({ text: 'theirs', contactKey: key('c') });
  });

  it('clears unread counts read on a sibling, except what came here after that read', async () => {
    await deliver(batch([incoming(BOB, 'm1', 100), incoming(BOB, 'm2', 200)]));
    await deliver(batch([sync([{ kind: 'read', contact: BOB, upTo: 150 }])]));
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ unreadCount: 1 });
    await deliver(batch([sync([{ kind: 'read', contact: BOB, upTo: 50 }])]));
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ unreadCount: 1 });
    // A text of ours synced after Bob's last message does not keep it unread.
    await deliver(batch([sync(sentItems({ contact: BOB, localId: 'LATER', sentAt: 250, text: 'mine', ackIds: [] }))]));
    await deliver(batch([sync([{ kind: 'read', contact: BOB, upTo: 200 }])]));
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ unreadCount: 0 });
  });

  it('applies contact changes by Lamport clock, last writer wins, ties by device id; adds and deletes', async () => {
    const put = (clock: number, alias: string, device = SIBLING, status: 'accepted' | 'verified' | 'blocked' = 'accepted') =>
      sync([{ kind: 'contact', contact: BOB, clock, op: 'put', alias, aliasFromUser: true, status, dropUrls: ['http://127.0.0.1:1/bob'] }], { device });
    await deliver(batch([put(5, 'Bobby', SIBLING, 'verified')]));
    expect(await db.contacts.get(['me', BOB])).toMatchObject({ alias: 'Bobby', status: 'verified', aliasFromUser: true, syncStamp: { clock: 5, device: SIBLING } });
    // Older, and an equal clock from a lower device id: both lose.
    await deliver(batch([put(4, 'Stale')]));
    await deliver(batch([put(5, 'Tie low', '0000000000000001')]));
    expect(await db.contacts.get(['me', BOB])).toMatchObject({ alias: 'Bobby' });
    await deliver(batch([put(5, 'Tie high', 'ffffffffffffffff', 'blocked')]));
    expect(await db.contacts.get(['me', BOB])).toMatchObject({ alias: 'Tie high', status: 'blocked' });
    // A change made here afterwards takes a clock past everything seen.
    expect(await contactItem(db, 'me', BOB, HERE)).toMatchObject({ clock: 6, op: 'put', alias: 'Tie high' });
    // A contact added on the sibling appears here; a deletion removes it with its conversation.
    const carol = key('c');
    await deliver(batch([sync([{ kind: 'contact', contact: carol, clock: 7, op: 'put', alias: 'Carol\u202e', status: 'accepted', dropUrls: ['http://127.0.0.1:1/carol'] }])]));
    expect(await db.contacts.get(['me', carol])).toMatchObject({ alias: 'Carol', status: 'accepted', dropUrls: ['http://127.0.0.1:1/carol'] });
    await deliver(batch([sync(sentItems({ contact: carol, localId: 'C1', sentAt: 1, text: 'hi carol', ackIds: [] }))]));
    await deliver(batch([sync([{ kind: 'contact', contact: carol, clock: 8, op: 'del' }])]));
    expect(await db.contacts.get(['me', carol])).toBeUndefined();
    expect(await db.messages.get('out:C1')).toBeUndefined();
    expect(await db.conversations.get(['me', carol])).toBeUndefined();
    // The deletion is remembered, sealed at rest like a record: Carol's key is not readable in the settings table.
    const settings = await db.settings.toArray();
    expect(settings.some((setting) => setting.key === 'sync:tombstones:me')).toBe(true);
    expect(JSON.stringify(settings)).not.toContain(carol);
    // An older change arriving after the deletion does not bring Carol back; a newer one does.
    await deliver(batch([sync([{ kind: 'contact', contact: carol, clock: 7, op: 'put', alias: 'Carol stale', status: 'accepted', dropUrls: [] }], { device: 'ffffffffffffffff' })]));
    expect(await db.contacts.get(['me', carol])).toBeUndefined();
    await deliver(batch([sync([{ kind: 'contact', contact: carol, clock: 9, op: 'put', alias: 'Carol again', status: 'accepted', dropUrls: [] }])]));
    expect(await db.contacts.get(['me', carol])).toMatchObject({ alias: 'Carol again' });
  });

  it('a file sent on a sibling is a share row of ours, with the notice to download it by; a drop list is left to the engine', async () => {
    const ref = { scheme: 'deaddrop-file-1' as const, url: `http://127.0.0.1:1/blobs/${'b'.repeat(43)}`, key: 'k'.repeat(43), size: 1234, cipherSize: 1300, hash: 'h'.repeat(43) };
    const items = sentItems({ contact: BOB, localId: 'F1', sentAt: 400, text: 'the plan', ackIds: ['f1'], file: { name: 'plan.pdf', mime: 'application/pdf', ref } });
    const drops: SyncItem = { kind: 'drops', epoch: 3, dropUrls: ['http://127.0.0.1:1/new'], retiring: [{ url: OWN_DROP, until: 9e12, movedAt: 1 }], claims: [] };
    const { taken, written } = await deliver(batch([sync([...items, drops])]));
    expect(written).toMatchObject({ inserted: 0 });
    expect(taken.owedReceipts).toHaveLength(1);
    const row = await db.messages.get('out:F1');
    expect(row).toMatchObject({ kind: 'share', direction: 'out', text: 'the plan', sentFrom: SIBLING, share: { file: 'plan.pdf', url: ref.url, size: 1234 } });
    expect(sharedFileOf(row!)).toEqual({ name: 'plan.pdf', size: 1234, caption: 'the plan', ref, mime: 'application/pdf' });
    // Without a caption the name stands in, as on the sending device.
    await deliver(batch([sync(sentItems({ contact: BOB, localId: 'F2', sentAt: 401, text: 'plan.pdf', ackIds: [], file: { name: 'plan.pdf', mime: null, ref } }))]));
    expect(sharedFileOf((await db.messages.get('out:F2'))!)).toMatchObject({ caption: '', ref, mime: null });
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ lastMessageAt: 401, lastMessageDirection: 'out' });
  });
});
