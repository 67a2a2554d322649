import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import { DATABASE_NAME, DeaddropDatabase, database } from '../db/database.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import type { ContactRecord, ContactStatus } from '../db/records.js';
import { setDatabaseKey } from '../db/sealing.js';
import { unreadByIdentity } from './unreadCounts.js';

const key = (c: string) => c.repeat(64);

function incoming(senderKey: string, dedupeKey: string, identityId = 'me'): IncomingMessage {
  return {
    dedupeKey, identityId, senderKey, type: 'box_message', payload: '{}', content: { type: 'box_message', msg: dedupeKey, part: null }, text: dedupeKey, share: null, part: null, acknowledgeId: '0', meta: null,
    sentAt: 1, receivedAt: 2, dropUrl: 'http://127.0.0.1:1/drop',
  };
}

function contact(publicKey: string, status: ContactStatus, identityId = 'me'): ContactRecord {
  return { identityId, publicKey, alias: publicKey.slice(0, 4), aliasLower: '', dropUrls: [], offeredDropUrls: [], status, createdAt: 1 };
}

const batch = (messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId: 'b', messages, receipts: [] });

// unreadByIdentity reads the window's one database; this file is the only one in the browser project that uses it.
beforeEach(async () => {
  await setDatabaseKey(btoa(String.fromCharCode(...new Uint8Array(32).fill(37))));
  await database().delete();
  await database().open();
});
afterEach(async () => {
  await database().delete();
  await DeaddropDatabase.delete(DATABASE_NAME);
});

describe('unread counts', () => {
  it('count per identity every unread message from contacts and requests, never from ignored or blocked senders', async () => {
    const db = database();
    await db.contacts.bulkPut([contact(key('a'), 'accepted'), contact(key('i'), 'ignored'), contact(key('x'), 'blocked'), contact(key('i'), 'accepted', 'other')]);
    await writeInboxBatch(db, batch([
      incoming(key('a'), 'a1'), incoming(key('a'), 'a2'), incoming(key('s'), 's1'), incoming(key('i'), 'i1'), incoming(key('x'), 'x1'),
      incoming(key('i'), 'o1', 'other'),
    ]));
    expect(await unreadByIdentity()).toEqual(new Map([['me', 3], ['other', 1]]));

    // Blocking or ignoring a sender takes their unread messages out of the count; accepting brings them back.
    await db.contacts.update(['me', key('s')], { status: 'ignored' });
    expect(await unreadByIdentity()).toEqual(new Map([['me', 2], ['other', 1]]));
    await db.contacts.update(['me', key('i')], { status: 'accepted' });
    expect(await unreadByIdentity()).toEqual(new Map([['me', 3], ['other', 1]]));
  });

  it('leave out identities with nothing unread, and do not count a batch delivered again', async () => {
    const db = database();
    await db.contacts.put(contact(key('a'), 'accepted'));
    const once = batch([incoming(key('a'), 'a1')]);
    await writeInboxBatch(db, once);
    await writeInboxBatch(db, once);
    expect(await unreadByIdentity()).toEqual(new Map([['me', 1]]));
    await db.conversations.update(['me', key('a')], { unreadCount: 0 });
    expect(await unreadByIdentity()).toEqual(new Map());
  });
});
