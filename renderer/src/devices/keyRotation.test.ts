import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import { BOX_KEY_ROTATE, type KeyRotateContent } from '../../../shared/modules/keyRotate.js';
import type { DeaddropDatabase } from '../db/database.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { type RotatedContact, conflictLine, rotatedLine, takeKeyRotations } from './keyRotation.js';

const key = (c: string) => c.repeat(64);
const BOB = key('b');
const BOB_NEW = key('c');
const THIEF = key('d');
const STRANGER = key('5');
const DROP = 'http://127.0.0.1:1/mine';
const BOB_DROP = 'http://127.0.0.1:1/bob-new';

let counter = 0;
function incoming(senderKey: string, text: string, sentAt: number, protocol: 0 | 1 = 0): IncomingMessage {
  const n = ++counter;
  return {
    dedupeKey: `${senderKey}:m${n}`, identityId: 'me', senderKey, type: 'box_message', payload: '', content: { type: 'box_message', msg: text, part: null }, text, share: null, part: null,
    acknowledgeId: `ack-${n}`, meta: null, sentAt, receivedAt: sentAt, dropUrl: DROP, protocol,
  };
}

function rotation(senderKey: string, newKey: string, at: number, dedupeKey = `${senderKey}:rot${++counter}`): IncomingMessage {
  const content: KeyRotateContent = { type: BOX_KEY_ROTATE, key: newKey, drops: [BOB_DROP], at, proof: 'ab'.repeat(32) };
  return {
    dedupeKey, identityId: 'me', senderKey, type: BOX_KEY_ROTATE, payload: '', content, text: null, share: null, part: null,
    acknowledgeId: `rot-ack-${counter}`, meta: null, sentAt: at, receivedAt: at, dropUrl: DROP, protocol: 0,
  };
}

const bob = (): ContactRecord => ({ identityId: 'me', publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: ['http://127.0.0.1:1/bob'], offeredDropUrls: [], status: 'verified', createdAt: 1 });
const batch = (messages: IncomingMessage[], receipts: EventMap['inbox/batch']['receipts'] = []): EventMap['inbox/batch'] => ({ batchId: `b${++counter}`, messages, receipts });

/** What engineSync does with a batch: rotations first, then the writer with what is left. */
async function deliver(b: EventMap['inbox/batch']) {
  const taken = await takeKeyRotations(db, b, 10_000_000);
  const written = await writeInboxBatch(db, taken.batch);
  return { taken, written };
}

const texts = async (contactKey: string) =>
  (await db.messages.where('[identityId+contactKey+sortAt]').between(['me', contactKey, -Infinity], ['me', contactKey, Infinity]).toArray()).map((m) => m.text);

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('rotate');
  await db.contacts.put(bob());
});
afterEach(deleteTestDatabases);

describe('a contact replaces their identity key', () => {
  it('moves the contact and its history to the new key, unverified, with a line; owes the receipt at the new drops', async () => {
    await deliver(batch([incoming(BOB, 'before', 100), incoming(BOB, 'also before', 200)]));
    const { taken } = await deliver(batch([rotation(BOB, BOB_NEW, 1000)]));
    expect(taken.moved).toBe(1);
    expect(taken.owedReceipts).toEqual([{ dedupeKey: expect.stringContaining(BOB) as string, dropUrls: [BOB_DROP] }]);
    expect(await db.contacts.get(['me', BOB])).toBeUndefined();
    const moved = (await db.contacts.get(['me', BOB_NEW])) as RotatedContact;
    expect(moved).toMatchObject({ alias: 'Bob', status: 'accepted', dropUrls: [BOB_DROP], keyRotatedAt: 1000, formerKeys: [{ key: BOB, at: 1000 }] });
    expect(await texts(BOB)).toEqual([]);
    expect(await texts(BOB_NEW)).toEqual(['before', 'also before', rotatedLine('Bob')]);
    expect(await db.conversations.get(['me', BOB])).toBeUndefined();
    expect(await db.conversations.get(['me', BOB_NEW])).toMatchObject({ messageCount: 3, lastMessagePreview: expect.stringContaining('replaced their identity key') as string });
    expect(rotatedLine('Bob')).toContain('Compare safety numbers');

    // Written to the new key from now on; a session message under the old key and a receipt still land here.
    await deliver(batch([incoming(BOB_NEW, 'after', 2000), incoming(BOB, 'late in the session', 2100, 1)], [{ identityId: 'me', senderKey: BOB, acknowledgeId: 'x', receivedAt: 2100 }]));
    expect(await texts(BOB_NEW)).toEqual(['before', 'also before', rotatedLine('Bob'), 'after', 'late in the session']);
    expect(await db.contacts.get(['me', BOB])).toBeUndefined();
  });

  it('a version-0 message from the old key after the rotation (a thief’s) is dropped; one sent before it is kept', async () => {
    await deliver(batch([rotation(BOB, BOB_NEW, 1000)]));
    await deliver(batch([incoming(BOB, 'sent before', 900), incoming(BOB, 'forged later', 5000)]));
    expect(await texts(BOB_NEW)).toEqual(['sent before', rotatedLine('Bob')]);
    expect(await db.contacts.get(['me', BOB])).toBeUndefined();
  });

  it('skips a stranger’s, a replayed and an older rotation; a second one naming another key leaves a notice and moves nothing', async () => {
    const first = rotation(BOB, BOB_NEW, 1000);
    await deliver(batch([first]));
    // The same message again (a re-post: owed its receipt again, nothing else), and the same rotation re-sent.
    const again = await deliver(batch([first, rotation(BOB, BOB_NEW, 1000)]));
    expect(again.taken).toMatchObject({ moved: 0, owedReceipts: [{ dedupeKey: first.dedupeKey }, expect.anything()] });
    // A stranger's rotation (not a contact) and one that would move Bob's new key back to an older time.
    const skipped = await deliver(batch([rotation(STRANGER, key('6'), 3000), rotation(BOB_NEW, key('7'), 900)]));
    expect(skipped.taken).toMatchObject({ moved: 0, owedReceipts: [] });
    expect(await db.contacts.get(['me', STRANGER])).toBeUndefined();
    expect(await db.contacts.get(['me', key('7')])).toBeUndefined();
    // The thief holds Bob's old key: a second rotation from it to the thief's key.
    const conflict = await deliver(batch([rotation(BOB, THIEF, 1500)]));
    expect(conflict.taken.moved).toBe(0);
    expect(await db.contacts.get(['me', THIEF])).toBeUndefined();
    expect(await db.contacts.get(['me', BOB_NEW])).toMatchObject({ publicKey: BOB_NEW });
    expect(await texts(BOB_NEW)).toEqual([rotatedLine('Bob'), conflictLine('Bob')]);
    // Rows never went to messages of their own.
    expect(await db.messages.filter((m) => m.payloadType === BOX_KEY_ROTATE && m.kind !== 'event').count()).toBe(0);
  });

  it('a later rotation of the new key moves on; a request the new key opened first joins the conversation', async () => {
    // The new key wrote before its rotation arrived: a request from an unknown sender.
    await deliver(batch([incoming(BOB, 'old key', 100)]));
    await deliver(batch([incoming(BOB_NEW, 'first from the new key', 1100)]));
    expect((await db.contacts.get(['me', BOB_NEW]))?.status).toBe('unknown');
    await deliver(batch([rotation(BOB, BOB_NEW, 1000)]));
    expect(await db.contacts.get(['me', BOB_NEW])).toMatchObject({ status: 'accepted', alias: 'Bob' });
    expect(await texts(BOB_NEW)).toEqual(['old key', rotatedLine('Bob'), 'first from the new key']);
    expect((await db.conversations.get(['me', BOB_NEW]))?.messageCount).toBe(3);
    // Bob rotates again later: both former keys stay his.
    await deliver(batch([rotation(BOB_NEW, THIEF, 5000)]));
    const latest = (await db.contacts.get(['me', THIEF])) as RotatedContact;
    expect(latest.formerKeys?.map((f) => f.key)).toEqual([BOB, BOB_NEW]);
    expect((await texts(THIEF)).length).toBe(4);
  });
});
