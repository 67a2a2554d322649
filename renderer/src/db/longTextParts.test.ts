import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import { MAX_TEXT_PARTS } from '../../../shared/protocol/message.js';
import type { DeaddropDatabase } from './database.js';
import { writeInboxBatch } from './inboxWriter.js';
import { isArriving, previewOf } from './incomingMessage.js';
import type { ContactRecord } from './records.js';
import { deleteTestDatabases, openTestDatabase } from './testDatabase.js';

const ALICE = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const rowId = (sender: string, group: string) => `in:me:${sender}:part:${group}`;

/** One piece of a long text, its dedupe key made from sender, group and index (as the engine's would differ). */
function piece(group: string, index: number, count: number, text: string, sender = ALICE, extra = ''): IncomingMessage {
  return {
    dedupeKey: `${sender.slice(0, 1)}:${group}:${index}${extra}`, identityId: 'me', senderKey: sender, type: 'box_message', payload: '{}', content: { type: 'box_message', msg: text, part: { group, index, count } }, text,
    share: null, part: { groupId: group, index, count }, acknowledgeId: `ack-${group}-${index}${extra}`, meta: null,
    sentAt: 1000 + index, receivedAt: 5000, dropUrl: 'http://127.0.0.1:1/drop',
  };
}

const batch = (batchId: string, messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId, messages, receipts: [] });
const accepted = (publicKey: string): ContactRecord => ({
  identityId: 'me', publicKey, alias: 'A', aliasLower: 'a', dropUrls: ['http://127.0.0.1:1/a'], offeredDropUrls: [], status: 'accepted', createdAt: 1,
});

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('parts');
  await db.contacts.bulkPut([accepted(ALICE), accepted(BOB)]);
});
afterEach(deleteTestDatabases);

const row = (sender: string, group: string) => db.messages.get(rowId(sender, group));

describe('long texts in parts', () => {
  it('are one message, joined in order once the last piece is in, whatever order and batches the pieces come in', async () => {
    const words = ['zero ', 'one ', 'two ', 'three ', 'four'];
    await writeInboxBatch(db, batch('b1', [piece('g', 3, 5, words[3]!), piece('g', 0, 5, words[0]!)]));
    const arriving = await row(ALICE, 'g');
    expect(arriving).toMatchObject({ text: '', parts: { count: 5, stored: 2 }, sortAt: 1000 });
    expect(isArriving(arriving!)).toBe(true);
    expect(previewOf(arriving!)).toBe('Receiving a long message…');
    expect(await db.textParts.count()).toBe(2);
    expect((await db.textParts.orderBy('[messageId+index]').toArray()).map((p) => [p.index, p.text])).toEqual([[0, words[0]], [3, words[3]]]);

    await writeInboxBatch(db, batch('b2', [piece('g', 4, 5, words[4]!), piece('g', 1, 5, words[1]!)]));
    expect((await row(ALICE, 'g'))!.parts).toEqual({ count: 5, stored: 4 });
    await writeInboxBatch(db, batch('b3', [piece('g', 2, 5, words[2]!)]));

    const done = await row(ALICE, 'g');
    expect(done).toMatchObject({ text: words.join(''), parts: { count: 5, stored: 5 }, read: false });
    expect(isArriving(done!)).toBe(false);
    expect(await db.textParts.count()).toBe(0);
    expect(await db.messages.count()).toBe(1);
    expect(await db.conversations.get(['me', ALICE])).toMatchObject({ unreadCount: 1, messageCount: 1, lastMessagePreview: 'zero one two three four' });
  });

  it('complete within one batch without writing a single piece record', async () => {
    await writeInboxBatch(db, batch('b1', [piece('g', 2, 3, 'c'), piece('g', 1, 3, 'b'), piece('g', 0, 3, 'a')]));
    expect((await row(ALICE, 'g'))!.text).toBe('abc');
    expect(await db.textParts.count()).toBe(0);
  });

  it('take a piece once: the same index again, with other text or another dedupe key, changes nothing', async () => {
    await writeInboxBatch(db, batch('b1', [piece('g', 0, 2, 'first ')]));
    const again = await writeInboxBatch(db, batch('b2', [piece('g', 0, 2, 'FORGED ', ALICE, '-resent'), piece('g', 0, 2, 'first ')]));
    expect(again).toMatchObject({ inserted: 0, duplicates: 2 });
    expect((await row(ALICE, 'g'))!.parts).toEqual({ count: 2, stored: 1 });
    await writeInboxBatch(db, batch('b3', [piece('g', 1, 2, 'second')]));
    expect((await row(ALICE, 'g'))!.text).toBe('first second');
    // After completion a late copy of any piece is a duplicate too.
    expect(await writeInboxBatch(db, batch('b4', [piece('g', 1, 2, 'LATE', ALICE, '-late')]))).toMatchObject({ inserted: 0, duplicates: 1 });
    expect((await row(ALICE, 'g'))!.text).toBe('first second');
  });

  it('stay incomplete while a piece is missing, showing nothing of the text', async () => {
    await writeInboxBatch(db, batch('b1', [piece('g', 0, 3, 'a'), piece('g', 2, 3, 'c')]));
    const r = await row(ALICE, 'g');
    expect(r).toMatchObject({ text: '', parts: { count: 3, stored: 2 } });
    expect(isArriving(r!)).toBe(true);
  });

  it('keep the count of their first piece: a piece claiming another count or an index beyond it is dropped and counted', async () => {
    await writeInboxBatch(db, batch('b1', [piece('g', 0, 2, 'a')]));
    const odd = await writeInboxBatch(db, batch('b2', [piece('g', 5, 9, 'x'), piece('g', 2, 2, 'y'), piece('g', 1, 9, 'b')]));
    expect(odd).toMatchObject({ inserted: 1, dropped: 2 });
    expect(await row(ALICE, 'g')).toMatchObject({ text: 'ab', parts: { count: 2, stored: 2 } });
    expect((await db.contacts.get(['me', ALICE]))!.unstoredMessages).toBe(2);
  });

  it('drop a piece whose index is its own count or more', async () => {
    expect(await writeInboxBatch(db, batch('b1', [piece('g', 3, 3, 'x'), piece('h', 1e9, 2, 'y')]))).toMatchObject({ inserted: 0, dropped: 2 });
    expect([await db.messages.count(), await db.textParts.count()]).toEqual([0, 0]);
  });

  // No stopwatch (a loaded machine makes any fixed bound flaky): work per claimed part, a billion
  // times over, would run far past this test's own time limit.
  it('drop every piece of a group claiming a billion parts, or just more than MAX_TEXT_PARTS, without reserving anything', { timeout: 15_000 }, async () => {
    const hostile = [piece('huge', 0, 1e9, 'x'), piece('huge', 1, 1e9, 'y'), piece('over', 0, MAX_TEXT_PARTS + 1, 'z')];
    expect(await writeInboxBatch(db, batch('b1', hostile))).toMatchObject({ inserted: 0, dropped: 3 });
    expect([await db.messages.count(), await db.textParts.count()]).toEqual([0, 0]);
    expect((await db.contacts.get(['me', ALICE]))!.unstoredMessages).toBe(3);
    // The sender's other texts are unaffected.
    await writeInboxBatch(db, batch('b2', [piece('ok', 1, 2, '!'), piece('ok', 0, 2, 'fine')]));
    expect((await row(ALICE, 'ok'))!.text).toBe('fine!');
  });

  it('belong to their sender: the same group id from two senders makes two messages', async () => {
    await writeInboxBatch(db, batch('b1', [piece('g', 0, 2, 'alice '), piece('g', 0, 2, 'bob ', BOB), piece('g', 1, 2, 'two', BOB)]));
    expect((await row(BOB, 'g'))!.text).toBe('bob two');
    expect(await row(ALICE, 'g')).toMatchObject({ text: '', parts: { count: 2, stored: 1 } });
    await writeInboxBatch(db, batch('b2', [piece('g', 1, 2, 'one')]));
    expect((await row(ALICE, 'g'))!.text).toBe('alice one');
  });

  it('finish a text kept inline by schema 6 through piece records', async () => {
    const inline = { ...(await writeAndRead(piece('old', 0, 3, 'x'))), parts: { count: 3, received: { 0: 'in', 1: 'line ' } } };
    await db.textParts.clear();
    await db.messages.put(inline);
    await writeInboxBatch(db, batch('b2', [piece('old', 2, 3, 'text')]));
    expect(await row(ALICE, 'old')).toMatchObject({ text: 'inline text', parts: { count: 3, stored: 3 } });
  });
});

async function writeAndRead(message: IncomingMessage) {
  await writeInboxBatch(db, batch('seed', [message]));
  return (await db.messages.get(rowId(message.senderKey, message.part!.groupId)))!;
}
