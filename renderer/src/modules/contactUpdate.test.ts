import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, EventMap, IdentitySummary, IncomingMessage, RequestOf, SenderMeta } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import { renameContact } from '../contacts/contactActions.js';
import type { DeaddropDatabase } from '../db/database.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import type { ContactRecord, ContactStatus } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { withNewlyStored } from '../desktop/newMessageNotifications.js';
import { announceIdentityChange, ownChangeLines } from './contactUpdate.js';

const ALICE = 'a'.repeat(64);
const OLD = 'https://old.example.org/drop1';
const KEPT = 'https://kept.example.org/drop2';
const NEW = 'https://drop.example.org/drop3';

function contact(status: ContactStatus = 'accepted', overrides: Partial<ContactRecord> = {}): ContactRecord {
  return {
    identityId: 'me', publicKey: ALICE, alias: 'Alice', aliasLower: 'alice', announcedAlias: 'Alice', dropUrls: [OLD, KEPT], offeredDropUrls: [], status, createdAt: 1,
    ...overrides,
  };
}

function update(dedupeKey: string, alias: string, dropUrls: string[], revision: number, overrides: Partial<IncomingMessage> = {}): IncomingMessage {
  return {
    dedupeKey, identityId: 'me', senderKey: ALICE, type: 'box_contact_update', payload: JSON.stringify({ alias, drop_urls: dropUrls, revision }),
    content: { type: 'box_contact_update', alias, dropUrls, revision }, text: null, share: null, part: null, acknowledgeId: '0',
    meta: { alias, dropUrl: dropUrls[0] }, sentAt: revision, receivedAt: revision + 5, dropUrl: 'http://127.0.0.1:1/mine', ...overrides,
  };
}

function chat(dedupeKey: string, meta: SenderMeta | null, sentAt: number): IncomingMessage {
  return {
    dedupeKey, identityId: 'me', senderKey: ALICE, type: 'box_message', payload: '{}', content: { type: 'box_message', msg: `text ${dedupeKey}`, part: null },
    text: `text ${dedupeKey}`, share: null, part: null, acknowledgeId: `ack-${dedupeKey}`, meta, sentAt, receivedAt: sentAt + 5, dropUrl: 'http://127.0.0.1:1/mine',
  };
}

const batch = (batchId: string, messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId, messages, receipts: [] });

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('updates');
});
afterEach(deleteTestDatabases);

const alice = () => db.contacts.get(['me', ALICE]);
const lines = async () => (await db.messages.toArray()).filter((m) => m.kind === 'event').map((m) => m.text);

describe('contact updates from an accepted contact', () => {
  it('replace the drop list and the name, with a line that says what changed; not unread, not announced', async () => {
    await db.contacts.put(contact());
    const message = update('u1', 'Alicia', [KEPT, NEW], 1000);
    const { result, stored } = await withNewlyStored(db, batch('b1', [message]), () => writeInboxBatch(db, batch('b1', [message])));
    expect(result).toMatchObject({ inserted: 1, dropped: 0, owedReceipts: [] });
    expect(await alice()).toMatchObject({ alias: 'Alicia', aliasLower: 'alicia', announcedAlias: 'Alicia', dropUrls: [KEPT, NEW], updateRevision: 1000 });
    expect(await lines()).toEqual(['Alice is now called Alicia\nAlicia now also receives at drop.example.org\nAlicia no longer receives at old.example.org']);
    const [row] = await db.messages.toArray();
    expect(row).toMatchObject({ direction: 'in', read: true, status: null, sortAt: 1000 });
    expect(await db.conversations.get(['me', ALICE])).toMatchObject({ unreadCount: 0, messageCount: 1, lastMessagePreview: 'Alice is now called Alicia Alicia now also receives at drop.example.org Alicia no longer receives at old.example.org' });
    // No notification: the message is seen, but under no row a notification could show.
    expect(stored).toHaveLength(1);
    expect(await db.messages.get(stored[0]!)).toBeUndefined();
    // Delivered again: nothing changes, nothing is added.
    expect(await writeInboxBatch(db, batch('b1', [message]))).toMatchObject({ inserted: 0, duplicates: 1 });
    expect(await db.messages.count()).toBe(1);
  });

  it('ignore a stale update: a revision not above the last applied one changes nothing and adds no line', async () => {
    await db.contacts.put(contact());
    await writeInboxBatch(db, batch('b1', [update('u2', 'Alicia', [NEW], 2000)]));
    await writeInboxBatch(db, batch('b2', [update('u1', 'Ally', [OLD], 1000), update('u3', 'Ally', [OLD], 2000)]));
    expect(await alice()).toMatchObject({ alias: 'Alicia', dropUrls: [NEW], updateRevision: 2000 });
    expect(await lines()).toHaveLength(1);
    // A newer one applies; one that changes nothing visible (same name, same drops) adds no line.
    await writeInboxBatch(db, batch('b3', [update('u4', 'Alicia', [NEW], 3000)]));
    expect(await alice()).toMatchObject({ updateRevision: 3000 });
    expect(await lines()).toHaveLength(1);
  });

  it('keep the name the user gave; the line says what the contact calls themselves now', async () => {
    await db.contacts.put(contact());
    await renameContact(db, contact(), 'Aunt Al');
    await writeInboxBatch(db, batch('b1', [update('u1', 'Alicia', [OLD, KEPT], 1000)]));
    expect(await alice()).toMatchObject({ alias: 'Aunt Al', announcedAlias: 'Alicia', aliasFromUser: true, dropUrls: [OLD, KEPT] });
    expect(await lines()).toEqual(['Aunt Al now calls themselves Alicia']);
  });

  it('clean what they announce: control and bidi characters out of names, drop URLs in the URL parser’s spelling, no repeats, at most 16', async () => {
    await db.contacts.put(contact());
    const many = Array.from({ length: 20 }, (_, i) => `https://d${i}.example.org/x`);
    await writeInboxBatch(db, batch('b1', [update('u1', ' Ali\u202Ece\u0007 ', ['HTTPS://Drop.Example.ORG/drop3', NEW, 'javascript:alert(1)', ...many], 1000)]));
    const stored = (await alice())!;
    expect(stored.alias).toBe('Alice');
    expect(stored.dropUrls).toEqual([NEW, ...many.slice(0, 15)]);
  });
});

describe('contact updates from others', () => {
  it('are not applied for strangers, ignored or blocked senders, and open no request', async () => {
    await writeInboxBatch(db, batch('b1', [update('s1', 'Mallory', [NEW], 1000)]));
    expect(await alice()).toBeUndefined();
    for (const status of ['ignored', 'blocked'] as const) {
      await db.contacts.put(contact(status));
      await writeInboxBatch(db, batch(`b-${status}`, [update(`u-${status}`, 'Mallory', [NEW], 1000)]));
      expect(await alice()).toMatchObject({ alias: 'Alice', dropUrls: [OLD, KEPT], status });
    }
    expect(await db.messages.count()).toBe(0);
  });

  it('of a request only renew the drops it offers: nothing is written there before Accept', async () => {
    await db.contacts.put(contact('unknown', { dropUrls: [], offeredDropUrls: [OLD] }));
    await writeInboxBatch(db, batch('b1', [update('u1', 'Mallory', [NEW, KEPT], 1000)]));
    expect(await alice()).toMatchObject({ status: 'unknown', alias: 'Alice', dropUrls: [], offeredDropUrls: [NEW, KEPT] });
    expect(await db.messages.count()).toBe(0);
  });
});

describe('meta data of an accepted contact’s messages (original Qabel clients)', () => {
  it('a new alias is a rename; a drop URL not listed becomes the list while they never sent an update', async () => {
    await db.contacts.put(contact());
    await writeInboxBatch(db, batch('b1', [chat('m1', { alias: 'Alicia', dropUrl: NEW }, 1000)]));
    expect(await alice()).toMatchObject({ alias: 'Alicia', dropUrls: [NEW], aliasRevision: 1000, metaDropsRevision: 1000 });
    expect(await lines()).toEqual([
      'Alice is now called Alicia\nAlicia now also receives at drop.example.org\nAlicia no longer receives at old.example.org\nAlicia no longer receives at kept.example.org',
    ]);
    // The message itself is stored and unread as ever; the line is not unread.
    expect(await db.conversations.get(['me', ALICE])).toMatchObject({ unreadCount: 1, messageCount: 2 });
    // An older message naming the old drop and name changes nothing back.
    await writeInboxBatch(db, batch('b2', [chat('m0', { alias: 'Alice', dropUrl: OLD }, 500)]));
    expect(await alice()).toMatchObject({ alias: 'Alicia', dropUrls: [NEW] });
    expect(await lines()).toHaveLength(1);
  });

  it('our own client names its first drop in every message: a listed drop is no change', async () => {
    await db.contacts.put(contact());
    await writeInboxBatch(db, batch('b1', [chat('m1', { alias: 'Alice', dropUrl: OLD }, 1000), chat('m2', { alias: 'Alice', dropUrl: 'https://KEPT.example.org/drop2' }, 1100)]));
    expect(await alice()).toMatchObject({ alias: 'Alice', dropUrls: [OLD, KEPT] });
    expect(await lines()).toEqual([]);
  });

  it('after a contact update, an unlisted meta drop is put in front of the list, a stale one is not', async () => {
    await db.contacts.put(contact());
    await writeInboxBatch(db, batch('b1', [update('u1', 'Alice', [OLD, KEPT], 1000)]));
    await writeInboxBatch(db, batch('b2', [chat('m0', { dropUrl: NEW }, 900)]));
    expect(await alice()).toMatchObject({ dropUrls: [OLD, KEPT] });
    await writeInboxBatch(db, batch('b3', [chat('m1', { dropUrl: NEW }, 1100)]));
    expect(await alice()).toMatchObject({ dropUrls: [NEW, OLD, KEPT] });
    expect(await lines()).toEqual(['Alice now also receives at drop.example.org']);
  });

  it('the receipt of the message that changed the drops goes where the contact was known to receive', async () => {
    await db.contacts.put(contact());
    const summary = await writeInboxBatch(db, batch('b1', [chat('m1', { dropUrl: NEW }, 1000), chat('m2', { dropUrl: NEW }, 1100)]));
    expect(summary.owedReceipts).toEqual([
      { dedupeKey: 'm1', dropUrls: [OLD, KEPT] },
      { dedupeKey: 'm2', dropUrls: [NEW] },
    ]);
  });

  it('a contact stored before announced names were kept takes the first meta alias as the baseline, without a line', async () => {
    await db.contacts.put(contact('accepted', { alias: 'My friend', announcedAlias: undefined }));
    await writeInboxBatch(db, batch('b1', [chat('m1', { alias: 'Alice', dropUrl: OLD }, 1000)]));
    expect(await alice()).toMatchObject({ alias: 'My friend', announcedAlias: 'Alice' });
    await writeInboxBatch(db, batch('b2', [chat('m2', { alias: 'Alicia', dropUrl: OLD }, 2000)]));
    expect(await alice()).toMatchObject({ alias: 'Alicia' });
    expect(await lines()).toEqual(['My friend is now called Alicia']);
  });

  it('of a request or an ignored sender changes nothing but the offered drop', async () => {
    await db.contacts.put(contact('ignored'));
    await writeInboxBatch(db, batch('b1', [chat('m1', { alias: 'Mallory', dropUrl: NEW }, 1000)]));
    expect(await alice()).toMatchObject({ alias: 'Alice', dropUrls: [OLD, KEPT], offeredDropUrls: [NEW] });
    expect(await lines()).toEqual([]);
  });
});

/** The engine as the sender sees it: records each call, answers `messages/send` as told. */
function scriptedEngine(answer: (request: RequestOf<'messages/send'>) => Result<unknown>) {
  const calls: Array<[Channel, unknown]> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: unknown) {
      calls.push([channel, request]);
      return channel === 'messages/send' ? answer(request as RequestOf<'messages/send'>) : ok(null);
    },
  } as unknown as EngineBridge;
  return { bridge, calls };
}

const me: IdentitySummary = { id: 'me', alias: 'Bob', publicKey: 'f'.repeat(64), dropUrls: ['https://one.example.org/d1'], dropBits: 256, createdAt: 1 };

describe('telling our contacts of a change', () => {
  it('says in words what changed', () => {
    expect(ownChangeLines(me, { ...me, alias: 'Bobby' })).toEqual(['You are now called Bobby']);
    expect(ownChangeLines(me, { ...me, dropUrls: [...me.dropUrls, 'https://two.example.org/d2'] })).toEqual(['You now also receive at two.example.org']);
    expect(ownChangeLines(me, { ...me, dropUrls: ['https://one.example.org/d9'] })).toEqual(['You now receive at another drop on one.example.org']);
    expect(ownChangeLines(me, me)).toEqual([]);
  });

  it('sends one update without receipt to each accepted and verified contact, with a line in each conversation told', async () => {
    const contacts: ContactRecord[] = (['accepted', 'verified', 'unknown', 'ignored', 'blocked'] as const).map((status, i) => ({
      ...contact(status), publicKey: String(i).repeat(64), dropUrls: [`https://c${i}.example.org/d`], alias: `C${i}`,
    }));
    // An accepted contact without a drop cannot be written to.
    contacts.push({ ...contact('accepted'), publicKey: '9'.repeat(64), dropUrls: [] });
    await db.contacts.bulkPut(contacts);
    const engine = scriptedEngine((r) => (r.recipient.publicKey === '1'.repeat(64) ? fail('invalid_request', 'Refused.') : ok({ localId: r.localId, acknowledgeIds: [], parts: 1 })));
    const outcome = await announceIdentityChange(db, engine.bridge, me, { ...me, alias: 'Bobby' }, 5000);
    expect(outcome).toEqual({ told: 1, failed: 1, error: 'Refused.' });
    const sends = engine.calls.map(([, request]) => request as RequestOf<'messages/send'>);
    expect(sends.map((s) => s.recipient)).toEqual([
      { publicKey: '0'.repeat(64), dropUrls: ['https://c0.example.org/d'] },
      { publicKey: '1'.repeat(64), dropUrls: ['https://c1.example.org/d'] },
    ]);
    for (const send of sends) expect(send).toMatchObject({ identityId: 'me', content: { type: 'box_contact_update' }, wantReceipt: false });
    expect(new Set(sends.map((s) => s.localId)).size).toBe(2);
    const rows = await db.messages.toArray();
    expect(rows.map((r) => [r.contactKey, r.kind, r.direction, r.text, r.status, r.localId])).toEqual([['0'.repeat(64), 'event', 'out', 'You are now called Bobby', null, null]]);
    // The line is ours but nobody's message: the chat list shows no "You:" before it.
    expect(await db.conversations.get(['me', '0'.repeat(64)])).toMatchObject({ lastMessageAt: 5000, lastMessagePreview: 'You are now called Bobby', lastMessageDirection: 'in', messageCount: 1, unreadCount: 0 });
    // Nothing changed, nothing sent.
    expect(await announceIdentityChange(db, engine.bridge, me, me)).toEqual({ told: 0, failed: 0, error: null });
    expect(engine.calls).toHaveLength(2);
  });
});
