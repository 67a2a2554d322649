import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeaddropDatabase } from '../db/database.js';
import { clearSearchIndex, ensureSearchIndex } from '../db/messageSearch.js';
import type { ContactRecord, ContactStatus, ConversationRecord, MessageRecord } from '../db/records.js';
import { setDatabaseKey } from '../db/sealing.js';
import { listConversations } from './conversationQueries.js';

const key = (c: string) => c.repeat(64);

function contact(publicKey: string, alias: string, status: ContactStatus = 'accepted', identityId = 'me'): ContactRecord {
  return { identityId, publicKey, alias, aliasLower: alias.toLowerCase(), dropUrls: [], offeredDropUrls: [], status, createdAt: 1 };
}

function conversation(contactKey: string, lastMessageAt: number, identityId = 'me'): ConversationRecord {
  return { identityId, contactKey, lastMessageAt, lastMessagePreview: `preview ${lastMessageAt}`, lastMessageDirection: 'in', unreadCount: 0, messageCount: 1 };
}

function message(id: string, contactKey: string, text: string, sortAt: number, identityId = 'me'): MessageRecord {
  return {
    id, identityId, contactKey, direction: 'in', kind: 'text', text, payloadType: 'box_message', payload: '', share: null, sortAt, createdAt: sortAt,
    status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
  };
}

let db: DeaddropDatabase;
const names: string[] = [];
beforeEach(async () => {
  clearSearchIndex();
  await setDatabaseKey(btoa(String.fromCharCode(...new Uint8Array(32).fill(31))));
  const name = `conversations-test-${crypto.randomUUID()}`;
  names.push(name);
  db = new DeaddropDatabase(name);
  await db.contacts.bulkPut([
    contact(key('a'), 'Zoë Adler'), contact(key('b'), 'Bert'), contact(key('c'), 'Carla', 'unknown'),
    contact(key('i'), 'Ivan', 'ignored'), contact(key('x'), 'Xaver', 'blocked'), contact(key('o'), 'Otto', 'accepted', 'other'),
  ]);
  await db.conversations.bulkPut([
    conversation(key('a'), 30), conversation(key('b'), 10), conversation(key('c'), 20), conversation(key('i'), 40), conversation(key('x'), 50),
    conversation(key('o'), 60, 'other'), conversation(key('n'), 70),
  ]);
  await db.messages.bulkPut([
    message('1', key('b'), 'Treffen im Café', 1), message('2', key('b'), 'noch ein cafe später', 9), message('3', key('c'), 'nothing', 2),
    message('4', key('i'), 'café from an ignored sender', 3), message('5', key('o'), 'café for another identity', 4, 'other'),
  ]);
  await ensureSearchIndex(db);
});
afterEach(async () => {
  clearSearchIndex();
  db.close();
  for (const name of names.splice(0)) await DeaddropDatabase.delete(name);
});

const aliases = (rows: Awaited<ReturnType<typeof listConversations>>) => rows.map((r) => r.contact.alias);

describe('conversation list', () => {
  it('lists one identity’s conversations newest first, with requests, without ignored or blocked senders or ones without a contact', async () => {
    const rows = await listConversations(db, 'me', '');
    expect(aliases(rows)).toEqual(['Zoë Adler', 'Carla', 'Bert']);
    expect(rows.every((r) => r.match === null)).toBe(true);
    expect(rows[0]!.conversation).toMatchObject({ lastMessageAt: 30, lastMessagePreview: 'preview 30' });
    expect(aliases(await listConversations(db, 'other', ''))).toEqual(['Otto']);
    expect(await listConversations(db, 'nobody', '')).toEqual([]);
  });

  it('finds conversations by any part of the name, ignoring case and accents', async () => {
    expect(aliases(await listConversations(db, 'me', 'zoe'))).toEqual(['Zoë Adler']);
    expect(aliases(await listConversations(db, 'me', '  ADL '))).toEqual(['Zoë Adler']);
    expect(aliases(await listConversations(db, 'me', 'ivan'))).toEqual([]);
    expect(aliases(await listConversations(db, 'me', '   '))).toEqual(['Zoë Adler', 'Carla', 'Bert']);
  });

  it('finds conversations by message text, showing the newest matching message, only among those listed', async () => {
    const rows = await listConversations(db, 'me', 'CAFE');
    expect(rows.map((r) => [r.contact.alias, r.match])).toEqual([['Bert', { id: '2', text: 'noch ein cafe später' }]]);
    // A name hit shows no message, even if a text matches too.
    await db.messages.put(message('6', key('a'), 'adler im café', 12));
    expect((await listConversations(db, 'me', 'adler')).map((r) => [r.contact.alias, r.match])).toEqual([['Zoë Adler', null]]);
    expect(await listConversations(db, 'me', 'no such words')).toEqual([]);
  });
});
