import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Receipt } from '../../../shared/ipc/contract.js';
import type { DeaddropDatabase } from './database.js';
import { applyReceipts } from './incomingReceipts.js';
import type { ContactRecord, MessageRecord, MessageStatus } from './records.js';
import { deleteTestDatabases, openTestDatabase } from './testDatabase.js';
import { MAX_WAITING_RECEIPTS_PER_SENDER, WAITING_RECEIPT_TTL_MS } from './senderBounds.js';

const BOB = 'b'.repeat(64);
const EVE = 'e'.repeat(64);
const NOW = 10 * WAITING_RECEIPT_TTL_MS;

function outgoing(id: string, ackIds: string[], status: MessageStatus = 'posted', contactKey = BOB, identityId = 'me'): MessageRecord {
  return {
    id, identityId, contactKey, direction: 'out', kind: 'text', text: id, payloadType: 'box_message', payload: '', share: null, sortAt: 1, createdAt: 1,
    status, localId: id, error: null, ackIds, ackedIds: [], parts: null, read: true,
  };
}

function contact(publicKey: string): ContactRecord {
  return { identityId: 'me', publicKey, alias: 'C', aliasLower: 'c', dropUrls: ['http://127.0.0.1:1/c'], offeredDropUrls: [], status: 'accepted', createdAt: 1 };
}

const receipt = (acknowledgeId: string, senderKey = BOB, receivedAt = NOW, identityId = 'me'): Receipt => ({ identityId, senderKey, acknowledgeId, receivedAt });

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('receipts');
  await db.contacts.put(contact(BOB));
});
afterEach(deleteTestDatabases);

const apply = (receipts: Receipt[], now = NOW) => db.transaction('rw', [db.messages, db.contacts, db.pendingReceipts], () => applyReceipts(db, receipts, now));

describe('delivery receipts', () => {
  it('mark our message delivered once every part is acknowledged by its recipient, and count it once', async () => {
    await db.messages.bulkPut([outgoing('out:1', ['p1', 'p2', 'p3']), outgoing('out:2', ['q1'])]);
    expect(await apply([receipt('p1'), receipt('p3')])).toBe(0);
    expect(await db.messages.get('out:1')).toMatchObject({ status: 'posted', ackedIds: ['p1', 'p3'] });
    expect(await apply([receipt('p2'), receipt('q1')])).toBe(2);
    expect(await db.messages.get('out:1')).toMatchObject({ status: 'delivered', ackedIds: ['p1', 'p3', 'p2'] });
    expect(await db.messages.get('out:2')).toMatchObject({ status: 'delivered' });
    // A receipt again (the batch came again) changes nothing and counts nothing.
    expect(await apply([receipt('p2'), receipt('p2')])).toBe(0);
    expect((await db.messages.get('out:1'))!.ackedIds).toEqual(['p1', 'p3', 'p2']);
  });

  it('clear a failure once the recipient confirms the message arrived after all', async () => {
    await db.messages.put({ ...outgoing('out:1', ['p1'], 'failed'), error: 'The server did not answer.' });
    expect(await apply([receipt('p1')])).toBe(1);
    expect(await db.messages.get('out:1')).toMatchObject({ status: 'delivered', error: null });
  });

  it('come only from the recipient, for this identity: the same id from anyone else, or to another identity, is ignored', async () => {
    await db.contacts.put(contact(EVE));
    await db.messages.bulkPut([outgoing('out:1', ['p1']), outgoing('out:other', ['p1'], 'posted', BOB, 'other')]);
    expect(await apply([receipt('p1', EVE), receipt('p1', 'f'.repeat(64))])).toBe(0);
    expect(await db.messages.get('out:1')).toMatchObject({ status: 'posted', ackedIds: [] });
    expect(await apply([receipt('p1')])).toBe(1);
    expect(await db.messages.get('out:other')).toMatchObject({ status: 'posted', ackedIds: [] });
  });

  it('wait for a message they overtook, only from contacts, at most MAX_WAITING_RECEIPTS_PER_SENDER per sender', async () => {
    const early = Array.from({ length: MAX_WAITING_RECEIPTS_PER_SENDER + 5 }, (_, i) => receipt(`early-${i}`));
    const stranger = Array.from({ length: 5 }, (_, i) => receipt(`s-${i}`, 'f'.repeat(64)));
    expect(await apply([...early, ...stranger])).toBe(0);
    const waiting = await db.pendingReceipts.toArray();
    expect(waiting).toHaveLength(MAX_WAITING_RECEIPTS_PER_SENDER);
    expect(new Set(waiting.map((r) => r.senderKey))).toEqual(new Set([BOB]));
    // The cap holds across batches too.
    expect(await apply([receipt('later')])).toBe(0);
    expect(await db.pendingReceipts.count()).toBe(MAX_WAITING_RECEIPTS_PER_SENDER);
  });

  it('waiting expire after a day', async () => {
    await apply([receipt('old', BOB, NOW - WAITING_RECEIPT_TTL_MS - 1), receipt('young', BOB, NOW - WAITING_RECEIPT_TTL_MS + 1)]);
    expect(await db.pendingReceipts.count()).toBe(2);
    await apply([], NOW);
    expect((await db.pendingReceipts.toArray()).map((r) => r.acknowledgeId)).toEqual(['young']);
  });
});
