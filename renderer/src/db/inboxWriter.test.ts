import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import type { DeaddropDatabase } from './database.js';
import { writeInboxBatch } from './inboxWriter.js';
import type { ContactRecord, ContactStatus } from './records.js';
import { deleteTestDatabases, openTestDatabase } from './testDatabase.js';
import { MAX_OPEN_REQUESTS, MAX_REQUEST_MESSAGES, MESSAGES_PER_TRANSACTION, unstoredRequestsKey } from './senderBounds.js';

const key = (c: string) => c.repeat(64);
const DROP = 'http://127.0.0.1:1/mine';
const OTHER_DROP = 'http://127.0.0.1:1/second';

function incoming(senderKey: string, dedupeKey: string, overrides: Partial<IncomingMessage> = {}): IncomingMessage {
  const text = overrides.text === undefined ? `text ${dedupeKey}` : overrides.text;
  return {
    dedupeKey, identityId: 'me', senderKey, type: 'box_message', payload: JSON.stringify({ msg: text }), content: { type: 'box_message', msg: text ?? '', part: null }, text, share: null, part: null,
    acknowledgeId: `ack-${dedupeKey}`, meta: null, sentAt: 1000, receivedAt: 2000, dropUrl: DROP, ...overrides,
  };
}

function contact(publicKey: string, status: ContactStatus, dropUrls = [`http://127.0.0.1:1/${publicKey.slice(0, 4)}`]): ContactRecord {
  return { identityId: 'me', publicKey, alias: `Contact ${publicKey.slice(0, 4)}`, aliasLower: '', dropUrls, offeredDropUrls: [], status, createdAt: 1 };
}

const batch = (batchId: string, messages: IncomingMessage[], receipts: EventMap['inbox/batch']['receipts'] = []): EventMap['inbox/batch'] => ({ batchId, messages, receipts });

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('inbox');
});
afterEach(deleteTestDatabases);

const conversation = (contactKey: string) => db.conversations.get(['me', contactKey]);

describe('inbox writer: storing a batch', () => {
  it('stores a contact’s messages with their conversation’s newest message, unread and message counts', async () => {
    await db.contacts.put(contact(key('a'), 'accepted'));
    const summary = await writeInboxBatch(db, batch('b1', [incoming(key('a'), 'm1', { sentAt: 10 }), incoming(key('a'), 'm2', { sentAt: 20, text: 'newest\n  line' })]));
    expect(summary).toMatchObject({ inserted: 2, duplicates: 0, dropped: 0 });
    const rows = await db.messages.orderBy('id').toArray();
    expect(rows.map((m) => [m.id, m.text, m.direction, m.read, m.kind])).toEqual([
      ['in:me:m1', 'text m1', 'in', false, 'text'],
      ['in:me:m2', 'newest\n  line', 'in', false, 'text'],
    ]);
    expect(await conversation(key('a'))).toMatchObject({ lastMessageAt: 20, lastMessagePreview: 'newest line', lastMessageDirection: 'in', unreadCount: 2, messageCount: 2 });
    // A later batch with an older message counts it but keeps the newest as the preview.
    await writeInboxBatch(db, batch('b2', [incoming(key('a'), 'm0', { sentAt: 5 })]));
    expect(await conversation(key('a'))).toMatchObject({ lastMessageAt: 20, lastMessagePreview: 'newest line', unreadCount: 3, messageCount: 3 });
  });

  it('is idempotent: a batch delivered again, or overlapping, stores each message once and counts nothing twice', async () => {
    await db.contacts.put(contact(key('a'), 'accepted'));
    const b1 = batch('b1', [incoming(key('a'), 'm1'), incoming(key('a'), 'm2')]);
    await writeInboxBatch(db, b1);
    expect(await writeInboxBatch(db, b1)).toMatchObject({ inserted: 0, duplicates: 2, dropped: 0 });
    expect(await writeInboxBatch(db, batch('b2', [incoming(key('a'), 'm2'), incoming(key('a'), 'm3')]))).toMatchObject({ inserted: 1, duplicates: 1 });
    // The same message twice within one batch is one message too.
    expect(await writeInboxBatch(db, batch('b3', [incoming(key('a'), 'm4'), incoming(key('a'), 'm4')]))).toMatchObject({ inserted: 1, duplicates: 1 });
    expect(await db.messages.count()).toBe(4);
    expect(await conversation(key('a'))).toMatchObject({ unreadCount: 4, messageCount: 4 });
  });

  it('counts what arrived per drop once, also when the batch comes again', async () => {
    await db.contacts.put(contact(key('a'), 'accepted'));
    const b1 = batch('b1', [incoming(key('a'), 'm1'), incoming(key('a'), 'm2'), incoming(key('a'), 'm3', { dropUrl: OTHER_DROP })]);
    await writeInboxBatch(db, b1);
    await writeInboxBatch(db, b1);
    await writeInboxBatch(db, batch('b2', [incoming(key('a'), 'm3', { dropUrl: OTHER_DROP }), incoming(key('a'), 'm4', { dropUrl: OTHER_DROP })]));
    const drops = await db.drops.orderBy('dropUrl').toArray();
    expect(drops.map((d) => [d.dropUrl, d.messagesReceived])).toEqual([
      [DROP, 2],
      [OTHER_DROP, 2],
    ]);
  });

  it('stores a batch larger than one transaction whole', async () => {
    await db.contacts.put(contact(key('a'), 'accepted'));
    const count = 2 * MESSAGES_PER_TRANSACTION + 7;
    const messages = Array.from({ length: count }, (_, i) => incoming(key('a'), `m${i}`, { sentAt: i }));
    expect(await writeInboxBatch(db, batch('big', messages))).toMatchObject({ inserted: count, dropped: 0 });
    expect(await db.messages.count()).toBe(count);
    expect(await conversation(key('a'))).toMatchObject({ unreadCount: count, messageCount: count, lastMessageAt: count - 1 });
  });

  it('trusts a sender’s clock only as far as the past', async () => {
    await db.contacts.put(contact(key('a'), 'accepted'));
    await writeInboxBatch(db, batch('b1', [
      incoming(key('a'), 'future', { sentAt: 9e15, receivedAt: 5000 }),
      incoming(key('a'), 'past', { sentAt: 100, receivedAt: 5000 }),
      incoming(key('a'), 'nan', { sentAt: Number.NaN, receivedAt: 6000 }),
    ]));
    expect(Object.fromEntries((await db.messages.toArray()).map((m) => [m.id, m.sortAt]))).toEqual({ 'in:me:future': 5000, 'in:me:past': 100, 'in:me:nan': 6000 });
  });

  it('stores shares and unknown types as such', async () => {
    await db.contacts.put(contact(key('a'), 'accepted'));
    await writeInboxBatch(db, batch('b1', [
      incoming(key('a'), 's', {
        type: 'box_share_notification', text: 'look', share: { file: 'f.pdf', url: 'http://x/f', size: 3 },
        content: { type: 'box_share_notification', msg: 'look', file: 'f.pdf', url: 'http://x/f', key: 'k', size: 3, ref: null, mime: null, share: null },
      }),
      incoming(key('a'), 'u', { type: 'box_future_thing', text: null, content: { type: 'unsupported', payloadType: 'box_future_thing', payload: '{}' } }),
    ]));
    expect((await db.messages.get('in:me:s'))).toMatchObject({ kind: 'share', text: 'look', share: { file: 'f.pdf', url: 'http://x/f', size: 3 } });
    expect((await db.messages.get('in:me:u'))).toMatchObject({ kind: 'unsupported', payloadType: 'box_future_thing' });
  });
});

describe('inbox writer: strangers, ignored and blocked senders', () => {
  it('turns a stranger’s first message into a request named by its hello, its drop URL only offered', async () => {
    const hello = { alias: ' Eve\u202E\u0007 the \u200Bfriend ', dropUrl: 'https://drop.example/x y' };
    await writeInboxBatch(db, batch('b1', [incoming(key('e'), 'm1', { meta: hello })]));
    expect(await db.contacts.get(['me', key('e')])).toMatchObject({ status: 'unknown', alias: 'Eve the friend', dropUrls: [], offeredDropUrls: [] });
    await writeInboxBatch(db, batch('b2', [incoming(key('e'), 'm2', { meta: { dropUrl: 'https://drop.example/eve' } })]));
    expect(await db.contacts.get(['me', key('e')])).toMatchObject({ status: 'unknown', dropUrls: [], offeredDropUrls: ['https://drop.example/eve'] });
    // A hello without a usable name still makes a request, named by the key.
    await writeInboxBatch(db, batch('b3', [incoming(key('f'), 'm3', { meta: { alias: '\u200E\u200F' } })]));
    expect((await db.contacts.get(['me', key('f')]))!.alias).toBe(`Unknown ${key('f').slice(0, 8)}`);
  });

  it('owes receipts only to accepted and verified contacts, at the drop URLs the user accepted', async () => {
    const many = Array.from({ length: 20 }, (_, i) => `http://127.0.0.1:1/d${i}`);
    await db.contacts.bulkPut([contact(key('a'), 'accepted', many), contact(key('v'), 'verified'), contact(key('i'), 'ignored'), contact(key('b'), 'blocked'), contact(key('n'), 'accepted', [])]);
    const claimed = { dropUrl: 'https://elsewhere.example/drop' };
    const summary = await writeInboxBatch(db, batch('b1', [
      incoming(key('a'), 'a1', { meta: claimed }),
      incoming(key('v'), 'v1'),
      incoming(key('i'), 'i1'),
      incoming(key('b'), 'b1'),
      incoming(key('s'), 's1'),
      incoming(key('n'), 'n1'),
      incoming(key('a'), 'a2', { acknowledgeId: '0' }),
      incoming(key('a'), 'a3', { type: 'box_ack', text: null, content: { type: 'unsupported', payloadType: 'box_ack', payload: '{}' } }),
    ]));
    expect(summary.owedReceipts).toEqual([
      { dedupeKey: 'a1', dropUrls: many.slice(0, 16) },
      { dedupeKey: 'v1', dropUrls: [`http://127.0.0.1:1/${key('v').slice(0, 4)}`] },
    ]);
    // A batch delivered again owes its receipts again: the first answer may not have gone out.
    const again = await writeInboxBatch(db, batch('b1', [incoming(key('a'), 'a1'), incoming(key('i'), 'i1')]));
    expect(again.owedReceipts.map((r) => r.dedupeKey)).toEqual(['a1']);
  });

  it('holds the receipts a request or an ignored sender asks for on the message, once each', async () => {
    await db.contacts.put(contact(key('i'), 'ignored'));
    await writeInboxBatch(db, batch('b1', [incoming(key('s'), 's1'), incoming(key('i'), 'i1'), incoming(key('s'), 's2', { acknowledgeId: '0' })]));
    await writeInboxBatch(db, batch('b1', [incoming(key('s'), 's1')]));
    expect((await db.messages.get('in:me:s1'))!.heldAckIds).toEqual(['ack-s1']);
    expect((await db.messages.get('in:me:i1'))!.heldAckIds).toEqual(['ack-i1']);
    expect((await db.messages.get('in:me:s2'))!.heldAckIds).toBeUndefined();
  });

  it('writes nothing a blocked sender sends: no message, no conversation, no dedupe key, no receipt', async () => {
    await db.contacts.put(contact(key('b'), 'blocked'));
    const summary = await writeInboxBatch(db, batch('b1', [incoming(key('b'), 'x1'), incoming(key('b'), 'x2', { part: { groupId: 'g', index: 0, count: 2 } })]));
    expect(summary).toMatchObject({ inserted: 0, dropped: 2, owedReceipts: [] });
    expect([await db.messages.count(), await db.conversations.count(), await db.seen.count(), await db.textParts.count()]).toEqual([0, 0, 0, 0]);
    expect((await db.contacts.get(['me', key('b')]))!.status).toBe('blocked');
  });

  it('keeps MAX_REQUEST_MESSAGES of a request and counts the rest on it once, also when the batch comes again', async () => {
    const flood = Array.from({ length: MAX_REQUEST_MESSAGES + 10 }, (_, i) => incoming(key('s'), `f${i}`));
    expect(await writeInboxBatch(db, batch('f', flood))).toMatchObject({ inserted: MAX_REQUEST_MESSAGES, dropped: 10 });
    expect(await writeInboxBatch(db, batch('f', flood))).toMatchObject({ inserted: 0, duplicates: MAX_REQUEST_MESSAGES, dropped: 10 });
    expect(await db.contacts.get(['me', key('s')])).toMatchObject({ status: 'unknown', unstoredMessages: 10 });
    expect(await conversation(key('s'))).toMatchObject({ unreadCount: MAX_REQUEST_MESSAGES, messageCount: MAX_REQUEST_MESSAGES });
  });

  it('opens at most MAX_OPEN_REQUESTS requests per identity and counts further strangers on the identity', async () => {
    const strangers = Array.from({ length: MAX_OPEN_REQUESTS + 3 }, (_, i) => incoming(i.toString(16).padStart(64, '0'), `s${i}`));
    const other = incoming(key('f'), 'o1', { identityId: 'other' });
    expect(await writeInboxBatch(db, batch('s', [...strangers, other]))).toMatchObject({ inserted: MAX_OPEN_REQUESTS + 1, dropped: 3 });
    expect(await db.contacts.where('[identityId+status]').equals(['me', 'unknown']).count()).toBe(MAX_OPEN_REQUESTS);
    expect((await db.settings.get(unstoredRequestsKey('me')))?.value).toBe(3);
    expect(await db.settings.get(unstoredRequestsKey('other'))).toBeUndefined();
  });
});

describe('inbox writer: identities', () => {
  it('keeps each identity’s messages, conversations and dedupe keys apart', async () => {
    await db.contacts.put(contact(key('a'), 'accepted'));
    await writeInboxBatch(db, batch('b1', [incoming(key('a'), 'same'), incoming(key('a'), 'same', { identityId: 'other' })]));
    expect((await db.messages.toArray()).map((m) => m.id).sort()).toEqual(['in:me:same', 'in:other:same']);
    expect(await db.conversations.get(['other', key('a')])).toMatchObject({ unreadCount: 1 });
    // The same sender is a contact of one identity and a stranger to the other.
    expect(await db.contacts.get(['other', key('a')])).toMatchObject({ status: 'unknown' });
  });
});
