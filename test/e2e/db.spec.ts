import { expect, test } from '@playwright/test';
import type { IncomingMessage, Receipt } from '../../shared/ipc/contract.js';
import { MAX_TEXT_PARTS } from '../../shared/protocol/message.js';
import { MAX_OPEN_REQUESTS, MAX_REQUEST_MESSAGES, MAX_WAITING_RECEIPTS_PER_SENDER } from '../../renderer/src/db/senderBounds.js';
import { harnessCall as call, serveDbHarness } from './support/dbHarness.js';

/**
 * The renderer's database layer in real Chromium IndexedDB: schema upgrades, idempotent inbox
 * batches, long texts in parts, receipts, and the outbox against a scripted engine.
 */
const ME = 'identity-1';
const BOB = 'b'.repeat(64);
const EVE = 'e'.repeat(64);
const CAROL = 'c'.repeat(64);
const BOB_DROP = 'http://127.0.0.1:9/drop/' + 'B'.repeat(43);

interface StoredMessage {
  id: string;
  text: string;
  kind: string;
  status: string | null;
  localId: string | null;
  ackIds: string[];
  error: string | null;
  parts: { count: number; stored?: number } | null;
}

function incoming(n: number, over: Partial<IncomingMessage> = {}): IncomingMessage {
  const message: Omit<IncomingMessage, 'content'> = {
    dedupeKey: `${BOB}:ack-${n}`,
    identityId: ME,
    senderKey: BOB,
    type: 'box_message',
    payload: JSON.stringify({ msg: `message ${n}` }),
    text: `message ${n}`,
    share: null,
    part: null,
    acknowledgeId: `ack-${n}`,
    meta: { alias: 'Bob', dropUrl: BOB_DROP, publicKey: BOB },
    sentAt: 1_700_000_000_000 + n,
    receivedAt: 1_700_000_100_000 + n,
    dropUrl: 'http://127.0.0.1:9/drop/' + 'A'.repeat(43),
    ...over,
  };
  return { ...message, content: over.content ?? contentOf(message) };
}

/** The payload as the engine decodes it, from the same facts as the older `text`, `share` and `part` fields. */
function contentOf(message: Omit<IncomingMessage, 'content'>): IncomingMessage['content'] {
  const { type, text, share, part } = message;
  if (type === 'box_message' && text !== null) return { type, msg: text, part: part && { group: part.groupId, index: part.index, count: part.count } };
  if (type === 'box_share_notification' && share) return { type, msg: text ?? '', ...share, key: 'k', ref: null, mime: null, share: null };
  return { type: 'unsupported', payloadType: type, payload: message.payload };
}

const batch = (batchId: string, messages: IncomingMessage[], receipts: Receipt[] = []) => ({ batchId, messages, receipts });
const receipt = (acknowledgeId: string, senderKey = BOB, receivedAt = Date.now()): Receipt => ({ identityId: ME, senderKey, acknowledgeId, receivedAt });
const DAY = 24 * 60 * 60 * 1000;

/** A message from Eve, a stranger. */
const fromEve = (n: number, over: Partial<IncomingMessage> = {}) =>
  incoming(n, { senderKey: EVE, dedupeKey: `${EVE}:${n}`, acknowledgeId: `eve-${n}`, meta: { alias: 'Eve' }, text: `eve ${n}`, ...over });
/** Piece `index` of the long text `group` (claiming `count` pieces), as message `n` of `sender`. */
const piece = (n: number, group: string, index: number, count: number, sender = EVE) =>
  incoming(n, { senderKey: sender, dedupeKey: `${sender}:${group}:${n}`, acknowledgeId: `${group}-${n}`, meta: { alias: 'Sender' }, text: `${group}:${index};`, part: { groupId: group, index, count } });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

interface StoredContact {
  publicKey: string;
  status: string;
  unstoredMessages?: number;
}
const accepted = (publicKey: string) => ({ identityId: ME, publicKey, alias: 'Contact', aliasLower: 'contact', dropUrls: [BOB_DROP], offeredDropUrls: [], status: 'accepted', createdAt: 1 });

test.describe('database layer', () => {
  let harness: Awaited<ReturnType<typeof serveDbHarness>>;

  test.beforeAll(async () => {
    harness = await serveDbHarness();
  });
  test.afterAll(async () => {
    await harness?.close();
  });
  test.beforeEach(async ({ page }) => {
    await page.goto(harness.url);
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await call(page, 'reset');
  });

  test('a fresh database opens with every store at the newest version', async ({ page }) => {
    const shape = await call<{ version: number; stores: string[] }>(page, 'openAndDescribe');
    expect(shape.version).toBe(90);
    expect(shape.stores).toEqual(['contacts', 'conversations', 'drops', 'messages', 'pendingReceipts', 'postCopies', 'posts', 'seen', 'settings', 'shares', 'textParts']);
  });

  test('schema 1 → 2: contacts get a lower-case alias index; the outbox index replaces the status index', async ({ page }) => {
    await call(page, 'seedVersion', 1, {
      contacts: [
        { identityId: ME, publicKey: BOB, alias: 'Bob Ärger', dropUrls: [BOB_DROP], status: 'accepted', createdAt: 1 },
        { identityId: ME, publicKey: EVE, alias: 'EVE', dropUrls: [], status: 'unknown', createdAt: 2 },
      ],
    });
    const shape = await call<{ version: number; contactIndexes: string[]; messageIndexes: string[]; contacts: Array<{ aliasLower: string; alias: string }> }>(
      page,
      'openAndDescribe',
    );
    expect(shape.version).toBe(90);
    // (Schema 6 dropped the alias index again: names are sealed.)
    expect(shape.contactIndexes).not.toContain('[identityId+aliasLower]');
    expect(shape.messageIndexes).toContain('[direction+status]');
    expect(shape.messageIndexes).not.toContain('status');
    expect(shape.contacts.map((c) => [c.alias, c.aliasLower])).toEqual([
      ['Bob Ärger', 'bob ärger'],
      ['EVE', 'eve'],
    ]);
  });

  test('schema 2 → 3: conversations get their message count', async ({ page }) => {
    const message = (id: string, contactKey: string, sortAt: number) => ({
      id, identityId: ME, contactKey, direction: 'in', kind: 'text', text: id, payloadType: 'box_message', payload: '',
      share: null, sortAt, createdAt: sortAt, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
    });
    const conversation = (contactKey: string) => ({
      identityId: ME, contactKey, lastMessageAt: 3, lastMessagePreview: 'x', lastMessageDirection: 'in', unreadCount: 0,
    });
    await call(page, 'seedVersion', 2, {
      messages: [message('m1', BOB, 1), message('m2', BOB, 2), message('m3', EVE, 3)],
      conversations: [conversation(BOB), conversation(EVE), conversation('c'.repeat(64))],
    });
    const shape = await call<{ version: number; conversations: Array<{ contactKey: string; messageCount: number }> }>(page, 'openAndDescribe');
    expect(shape.version).toBe(90);
    expect(shape.conversations.map((c) => [c.contactKey.slice(0, 1), c.messageCount])).toEqual([
      ['b', 2],
      ['c', 0],
      ['e', 1],
    ]);
  });

  test('schema 3 → 6: the plaintext search words go, and the first pass after unlock seals every record', async ({ page }) => {
    const message = (id: string, text: string) => ({
      id, identityId: ME, contactKey: BOB, direction: 'in', kind: 'text', text, payloadType: 'box_message', payload: '',
      share: null, sortAt: 1, createdAt: 1, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
    });
    const contact = { identityId: ME, publicKey: BOB, alias: 'Bob Secretname', aliasLower: 'bob secretname', dropUrls: [BOB_DROP], status: 'accepted', createdAt: 1 };
    await call(page, 'seedVersion', 3, { messages: [message('m1', 'Grüße, Zoë! Meet at 10:30?'), message('m2', '')], contacts: [contact] });
    const shape = await call<{ version: number; messageIndexes: string[]; contactIndexes: string[] }>(page, 'openAndDescribe');
    expect(shape.version).toBe(90);
    expect(shape.messageIndexes).not.toContain('words');
    expect(shape.contactIndexes).not.toContain('[identityId+aliasLower]');
    // Until unlock the old records are as they were (an upgrade cannot seal without the key)...
    expect(JSON.stringify(await call(page, 'rawRecords', 'messages'))).toContain('Zoë');
    await call(page, 'afterUnlockPass');
    // ...after it, nothing of what they say is left in the clear, and the app reads them as before.
    for (const table of ['messages', 'contacts']) {
      const raw = JSON.stringify(await call(page, 'rawRecords', table));
      for (const secret of ['Zoë', 'grüße', 'Meet', 'Secretname', 'secretname', '"words"']) expect(raw, table).not.toContain(secret);
      expect(raw).toContain('sealed:');
    }
    expect((await call<Array<{ text: string }>>(page, 'messages')).map((m) => m.text)).toEqual(['Grüße, Zoë! Meet at 10:30?', '']);
    expect((await call<Array<{ alias: string }>>(page, 'contacts')).map((c) => c.alias)).toEqual(['Bob Secretname']);
  });

  test('what the app writes is sealed: texts, names and previews never reach IndexedDB in the clear', async ({ page }) => {
    await call(page, 'writeBatch', batch('b1', [incoming(1, { text: 'a secret plan for tuesday', meta: { alias: 'Roberta Hidden' } })]));
    for (const table of ['messages', 'contacts', 'conversations']) {
      const raw = JSON.stringify(await call(page, 'rawRecords', table));
      for (const secret of ['secret plan', 'tuesday', 'Roberta', 'Hidden']) expect(raw, table).not.toContain(secret);
    }
    const [stored] = await call<Array<{ text: string }>>(page, 'messages');
    expect(stored!.text).toBe('a secret plan for tuesday');
  });

  test('schema 4 → 5: drop URLs only claimed by requests and ignored senders become offered, not used', async ({ page }) => {
    const contact = (publicKey: string, status: string, dropUrls: string[]) => ({ identityId: ME, publicKey, alias: status, aliasLower: status, dropUrls, status, createdAt: 1 });
    await call(page, 'seedVersion', 4, {
      contacts: [contact(BOB, 'accepted', [BOB_DROP]), contact(EVE, 'unknown', [BOB_DROP]), contact('c'.repeat(64), 'ignored', [BOB_DROP]), contact('d'.repeat(64), 'blocked', [])],
    });
    const shape = await call<{ version: number; contacts: Array<{ status: string; dropUrls: string[]; offeredDropUrls: string[] }> }>(page, 'openAndDescribe');
    expect(shape.version).toBe(90);
    expect(shape.contacts.map((c) => [c.status, c.dropUrls, c.offeredDropUrls])).toEqual([
      ['accepted', [BOB_DROP], []],
      ['ignored', [], [BOB_DROP]],
      ['blocked', [], []],
      ['unknown', [], [BOB_DROP]],
    ]);
  });

  test('search finds conversations by name and by any part of a message, ignoring case and accents, per identity', async ({ page }) => {
    await call(page, 'writeBatch', batch('b1', [
      incoming(1, { text: 'The eagle lands at midnight' }),
      incoming(2, { senderKey: EVE, dedupeKey: `${EVE}:1`, meta: { alias: 'Eve' }, text: 'Nothing to see here' }),
      incoming(3, { identityId: 'identity-2', dedupeKey: 'other:1', text: 'eagle for someone else' }),
      incoming(4, { senderKey: CAROL, dedupeKey: `${CAROL}:1`, meta: { alias: 'Carol' }, text: 'Grüße aus dem Café' }),
    ]));
    const keys = async (query: string) => (await call<Array<{ contactKey: string }>>(page, 'search', ME, query)).map((r) => r.contactKey);
    expect(await keys('')).toHaveLength(3);
    expect(await keys('grusse')).toEqual([]);
    expect(await keys('CAFE')).toEqual([CAROL]);
    expect(await keys('aus dem caf')).toEqual([CAROL]);
    expect(await keys('eagle')).toEqual([BOB]);
    expect(await keys('the eagle lan')).toEqual([BOB]);
    expect(await keys('eve')).toEqual([EVE]);
    expect(await keys('see here')).toEqual([EVE]);
    expect(await keys('midday')).toEqual([]);
    expect(await keys('AGLE LAN')).toEqual([BOB]);
    expect(await keys('thing to s')).toEqual([EVE]);
    const [hit] = await call<Array<{ match: { id: string; text: string } | null }>>(page, 'search', ME, 'midnight');
    expect(hit!.match).toEqual({ id: expect.stringMatching(/^in:identity-1:/), text: 'The eagle lands at midnight' });
  });

  test('a batch delivered again (or overlapping) stores every message once; a stranger becomes a request', async ({ page }) => {
    const first = await call<{ inserted: number }>(page, 'writeBatch', batch('b1', [incoming(1), incoming(2)]));
    const again = await call<{ inserted: number; duplicates: number }>(page, 'writeBatch', batch('b1', [incoming(1), incoming(2)]));
    const overlap = await call<{ inserted: number; duplicates: number }>(page, 'writeBatch', batch('b2', [incoming(2), incoming(3)]));
    expect([first.inserted, again.inserted, again.duplicates, overlap.inserted, overlap.duplicates]).toEqual([2, 0, 2, 1, 1]);

    const stored = await call<StoredMessage[]>(page, 'messages');
    expect(stored.map((m) => m.text)).toEqual(['message 1', 'message 2', 'message 3']);
    // The drop URL the stranger claims is only offered: nothing goes there before the user accepts.
    const [contact] = await call<Array<{ alias: string; status: string; dropUrls: string[] }>>(page, 'contacts');
    expect(contact).toMatchObject({ alias: 'Bob', status: 'unknown', dropUrls: [], offeredDropUrls: [BOB_DROP] });
    const [conversation] = await call<Array<{ unreadCount: number; lastMessagePreview: string }>>(page, 'conversations');
    expect(conversation).toMatchObject({ unreadCount: 3, messageCount: 3, lastMessagePreview: 'message 3' });
  });

  test('engine sync acknowledges a batch only after it is stored; a batch that failed to store is not acknowledged', async ({ page }) => {
    await call(page, 'startSync');
    await call(page, 'closeDatabase');
    await call(page, 'deliverBatch', batch('lost', [incoming(1)]));
    await call(page, 'reopenDatabase');
    await call(page, 'deliverBatch', batch('b2', [incoming(2)]));
    // Batches are handled in order, so once b2 is acknowledged the failed write is settled too.
    await expect.poll(() => call<Array<{ batchId: string }>>(page, 'syncAcks').then((acks) => acks.map((a) => a.batchId))).toEqual(['b2']);
    // The engine delivers the unacknowledged batch again: stored once, then acknowledged.
    await call(page, 'deliverBatch', batch('lost', [incoming(1)]));
    await call(page, 'deliverBatch', batch('b2', [incoming(2)]));
    await expect.poll(() => call<unknown[]>(page, 'syncAcks').then((acks) => acks.length)).toBe(3);
    const acks = await call<Array<{ batchId: string; storedIds: string[] }>>(page, 'syncAcks');
    expect(acks.map((a) => [a.batchId, a.storedIds.length])).toEqual([
      ['b2', 1],
      ['lost', 2],
      ['b2', 2],
    ]);
    await call(page, 'stopSync');
    expect((await call<StoredMessage[]>(page, 'messages')).map((m) => m.text)).toEqual(['message 1', 'message 2']);
  });

  test('a long text in parts is shown once, whole and in order, whatever order the parts arrive in', async ({ page }) => {
    const part = (index: number, text: string) =>
      incoming(10 + index, { text, part: { groupId: 'g1', index, count: 3 }, payload: JSON.stringify({ msg: text }) });
    await call(page, 'writeBatch', batch('b1', [part(2, 'three.'), part(0, 'One, ')]));
    let [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message!.text).toBe('');
    expect(message!.parts).toEqual({ count: 3, stored: 2 });
    // Waiting pieces are sealed like the messages they belong to.
    expect((await call<Array<{ text: string }>>(page, 'textParts')).map((p) => p.text).sort()).toEqual(['One, ', 'three.']);
    expect(JSON.stringify(await call(page, 'rawRecords', 'textParts'))).not.toContain('three');
    await call(page, 'writeBatch', batch('b2', [part(0, 'One, '), part(1, 'two, ')]));
    const all = await call<StoredMessage[]>(page, 'messages');
    expect(all).toHaveLength(1);
    [message] = all;
    expect(message!.text).toBe('One, two, three.');
    const [conversation] = await call<Array<{ unreadCount: number; messageCount: number }>>(page, 'conversations');
    expect(conversation).toMatchObject({ unreadCount: 1, messageCount: 1 });
    // The pieces waited in records of their own, and went once the text was joined.
    expect(await call<unknown[]>(page, 'textParts')).toEqual([]);
  });

  test('shared files and unknown types are stored as such; a blocked sender stores nothing and gets no receipt', async ({ page }) => {
    await call(page, 'writeBatch', batch('b1', [
      incoming(1, { type: 'box_share_notification', text: 'a file', share: { file: 'plan.pdf', url: 'https://x.example/f', size: 2048 } }),
      incoming(2, { type: 'box_future_thing', text: null }),
    ]));
    expect((await call<StoredMessage[]>(page, 'messages')).map((m) => m.kind)).toEqual(['share', 'unsupported']);

    const eveDrop = 'http://127.0.0.1:9/drop/' + 'E'.repeat(43);
    await call(page, 'addContact', { identityId: ME, publicKey: EVE, alias: 'Eve', aliasLower: 'eve', dropUrls: [eveDrop], offeredDropUrls: [], status: 'blocked', createdAt: 1 });
    await call(page, 'setContactStatus', ME, BOB, 'accepted');
    const written = await call<{ owedReceipts: unknown[] }>(page, 'writeBatch', batch('b2', [
      incoming(3, { senderKey: EVE, dedupeKey: `${EVE}:x` }),
      incoming(4),
    ]));
    expect(await call<StoredMessage[]>(page, 'messages')).toHaveLength(3);
    // The blocked sender gets no receipt from us; Bob (accepted) does.
    expect(written.owedReceipts).toEqual([{ dedupeKey: `${BOB}:ack-4`, dropUrls: [BOB_DROP] }]);
  });

  test('receipts are owed only to accepted contacts, at the drop URLs the user accepted, never at a URL a message claims', async ({ page }) => {
    const cardDrop = 'https://drop.example/d/' + 'C'.repeat(43);
    const claimed = 'http://127.0.0.1:8080/cgi-bin/admin/' + 'X'.repeat(43);
    await call(page, 'addContact', { identityId: ME, publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: [cardDrop], offeredDropUrls: [], status: 'accepted', createdAt: 1 });
    const stranger = (n: number) => incoming(n, { senderKey: EVE, dedupeKey: `${EVE}:${n}`, meta: { alias: 'Eve', dropUrl: claimed } });
    const first = await call<{ owedReceipts: unknown[] }>(page, 'writeBatch', batch('b1', [
      incoming(1, { meta: { alias: 'Bob', dropUrl: claimed } }),
      incoming(2, { acknowledgeId: '0', dedupeKey: `${BOB}:pdu`, meta: { alias: 'Bob', dropUrl: claimed } }),
      stranger(3),
    ]));
    expect(first.owedReceipts).toEqual([{ dedupeKey: `${BOB}:ack-1`, dropUrls: [cardDrop] }]);
    let contacts = await call<Array<{ publicKey: string; status: string; dropUrls: string[]; offeredDropUrls: string[] }>>(page, 'contacts');
    // Bob's own (authenticated) message naming a drop he has not announced otherwise is how original
    // Qabel clients tell a new drop: it becomes his address from then on (modules/contactUpdate.ts),
    // while the receipt of that very message still went to the drop the user had accepted.
    expect(contacts.find((c) => c.publicKey === BOB)).toMatchObject({ dropUrls: [claimed], offeredDropUrls: [claimed] });
    expect(contacts.find((c) => c.publicKey === EVE)).toMatchObject({ status: 'unknown', dropUrls: [], offeredDropUrls: [claimed] });

    await call(page, 'setContactStatus', ME, EVE, 'ignored');
    expect((await call<{ owedReceipts: unknown[] }>(page, 'writeBatch', batch('b2', [stranger(4)]))).owedReceipts).toEqual([]);
    // Accepting the request is the user's agreement: the offered URL becomes Eve's address.
    await call(page, 'setContactStatus', ME, EVE, 'accepted');
    contacts = await call(page, 'contacts');
    expect(contacts.find((c) => c.publicKey === EVE)).toMatchObject({ status: 'accepted', dropUrls: [claimed] });
    expect((await call<{ owedReceipts: unknown[] }>(page, 'writeBatch', batch('b3', [stranger(5)]))).owedReceipts).toEqual([{ dedupeKey: `${EVE}:5`, dropUrls: [claimed] }]);
  });

  test('a request’s receipts are held, and answered when the user accepts, at the accepted drop URL', async ({ page }) => {
    const eveDrop = 'https://drop.example/d/' + 'E'.repeat(43);
    const fromEve = (n: number, over: Partial<IncomingMessage> = {}) =>
      incoming(n, { senderKey: EVE, dedupeKey: `${EVE}:${n}`, acknowledgeId: `eve-${n}`, meta: { alias: 'Eve', dropUrl: eveDrop }, ...over });
    const written = await call<{ owedReceipts: unknown[] }>(page, 'writeBatch', batch('b1', [fromEve(1), fromEve(2, { acknowledgeId: '0', dedupeKey: `${EVE}:pdu` }), fromEve(3)]));
    expect(written.owedReceipts).toEqual([]);
    expect(await call(page, 'engineReceipts')).toEqual([]);
    await call(page, 'acceptContact', ME, EVE);
    expect(await call(page, 'engineReceipts')).toEqual([{ identityId: ME, recipient: { publicKey: EVE, dropUrls: [eveDrop] }, acknowledgeIds: ['eve-3', 'eve-1'] }]);
    // Answered once: accepting again (or after a re-import) sends nothing more.
    await call(page, 'acceptContact', ME, EVE);
    expect(await call<unknown[]>(page, 'engineReceipts')).toHaveLength(1);
    // A blocked sender's messages hold nothing, so unblocking answers nothing either.
    await call(page, 'addContact', { identityId: ME, publicKey: 'c'.repeat(64), alias: 'C', aliasLower: 'c', dropUrls: [], offeredDropUrls: [], status: 'blocked', createdAt: 1 });
    await call(page, 'writeBatch', batch('b2', [incoming(9, { senderKey: 'c'.repeat(64), dedupeKey: 'c:9' })]));
    await call(page, 'acceptContact', ME, 'c'.repeat(64));
    expect(await call<unknown[]>(page, 'engineReceipts')).toHaveLength(1);
  });

  test('outbox: queued before sending, kept queued while the engine is away, resumed under the same local id', async ({ page }) => {
    await call(page, 'addContact', { identityId: ME, publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: [BOB_DROP], status: 'accepted', createdAt: 1 });
    await call(page, 'setEngine', 'unavailable');
    const id = await call<string>(page, 'send', ME, BOB, 'hello while offline');
    let [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message).toMatchObject({ id, status: 'queued', ackIds: [] });

    await call(page, 'setEngine', 'accept', 2);
    expect(await call<number>(page, 'resume')).toBe(1);
    const sends = await call<Array<{ localId: string }>>(page, 'engineSends');
    expect(sends.map((s) => s.localId)).toEqual([message!.localId, message!.localId]);
    [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message!.ackIds).toHaveLength(2);

    await call(page, 'outboxStatus', { localId: message!.localId, status: 'posted' });
    [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message!.status).toBe('posted');
    expect(await call<number>(page, 'resume')).toBe(0);
  });

  test('receipts: delivered only when every part is acknowledged by the recipient; early receipts are kept', async ({ page }) => {
    await call(page, 'addContact', { identityId: ME, publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: [BOB_DROP], status: 'accepted', createdAt: 1 });
    await call(page, 'setEngine', 'accept', 2);
    await call(page, 'send', ME, BOB, 'long text in two parts');
    let [message] = await call<StoredMessage[]>(page, 'messages');
    const [ack0, ack1] = message!.ackIds;

    await call(page, 'writeBatch', batch('r1', [], [receipt(ack0!), receipt(ack1!, EVE)]));
    [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message!.status).toBe('queued');
    await call(page, 'writeBatch', batch('r2', [], [receipt(ack1!)]));
    [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message!.status).toBe('delivered');
    await call(page, 'outboxStatus', { localId: message!.localId, status: 'posted' });
    [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message!.status).toBe('delivered');

    // A receipt that overtakes the engine's answer waits until the acknowledge id is known.
    await call(page, 'setEngine', 'unavailable');
    const early = await call<string>(page, 'send', ME, BOB, 'fast reader');
    const localId = early.slice('out:'.length);
    await call(page, 'writeBatch', batch('r3', [], [receipt(`${localId}-ack-0`)]));
    await call(page, 'setEngine', 'accept', 1);
    await call(page, 'resume');
    const fast = (await call<StoredMessage[]>(page, 'messages')).find((m) => m.id === early);
    expect(fast!.status).toBe('delivered');
  });

  test('outbox: a request the engine rejects fails with its reason', async ({ page }) => {
    await call(page, 'addContact', { identityId: ME, publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: [BOB_DROP], status: 'accepted', createdAt: 1 });
    await call(page, 'setEngine', 'invalid');
    await call(page, 'send', ME, BOB, 'will fail');
    const [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message).toMatchObject({ status: 'failed', error: 'The recipient key is not valid.' });
  });

  test('message bubbles: shared file, unsupported type, a long text still arriving, a failed message, a link', async ({ page }) => {
    const base = {
      id: 'm', identityId: ME, contactKey: BOB, direction: 'in', kind: 'text', text: '', payloadType: 'box_message', payload: '',
      share: null, sortAt: Date.now(), createdAt: Date.now(), status: null, localId: null, error: null, ackIds: [], ackedIds: [],
      parts: null, read: true,
    };
    const bubble = page.locator('#bubble');
    await call(page, 'renderMessage', { ...base, kind: 'share', text: 'the plan', payloadType: 'box_share_notification', share: { file: 'plan.pdf', url: 'https://x.example/f', size: 2048 } });
    // The file card (renderer/src/files) names the file and its size; its wording is the card's own.
    await expect(bubble.getByTestId('share-notice')).toContainText('plan.pdf');
    await expect(bubble.getByTestId('share-notice')).toContainText('2.0 KB');
    await expect(bubble).toContainText('the plan');

    await call(page, 'renderMessage', { ...base, kind: 'unsupported', payloadType: 'box_future_thing' });
    await expect(bubble.getByTestId('unsupported-message')).toContainText('box_future_thing');

    await call(page, 'renderMessage', { ...base, parts: { count: 40, stored: 17 } });
    await expect(bubble.getByTestId('long-text-arriving')).toHaveText('Receiving a long message (17 of 40 parts)…');
    // A row of schema 6 kept its pieces inline.
    await call(page, 'renderMessage', { ...base, parts: { count: 3, received: { 0: 'a', 2: 'c' } } });
    await expect(bubble).toContainText('Receiving a long message (2 of 3 parts)');

    await call(page, 'renderMessage', { ...base, direction: 'out', text: 'did not go', status: 'failed', localId: 'l1', error: 'The drop server refused it.' });
    await expect(bubble.getByTestId('message-status')).toContainText('Failed');
    await expect(bubble).toContainText('The drop server refused it.');
    await expect(bubble.getByRole('button', { name: 'Retry' })).toBeVisible();
    await expect(bubble.getByRole('button', { name: 'Cancel' })).toBeVisible();

    await call(page, 'renderMessage', { ...base, text: 'see https://example.org/a, or javascript:alert(1) and ftp://x.example/f' });
    await expect(bubble.getByRole('link')).toHaveCount(1);
    await expect(bubble.getByRole('link')).toHaveAttribute('href', 'https://example.org/a');

    // A right-to-left override cannot disguise where a link goes: it ends the link, the rest is isolated,
    // and a link whose text hides its real host names it.
    await call(page, 'renderMessage', { ...base, text: 'pay here https://evil.example/\u202E/moc.knab-ruoy.www//:sptth now' });
    await expect(bubble.getByRole('link')).toHaveAttribute('href', 'https://evil.example/');
    await expect(bubble.getByRole('link')).toHaveText('https://evil.example/');
    await expect.poll(() => bubble.locator('bdi, [style*="isolate"]').count()).toBeGreaterThanOrEqual(3);
    await call(page, 'renderMessage', { ...base, text: 'login at https://www.your-bank.com@evil.example/login' });
    await expect(bubble.getByTestId('link-host')).toContainText('goes to evil.example');
  });
  test('schema 6 → 7: indexes for the bounds; a long text kept inline by schema 6 finishes through part records', async ({ page }) => {
    const groupId = `in:${ME}:${BOB}:part:g0`;
    await call(page, 'seedVersion', 6, {
      contacts: [accepted(BOB)],
      messages: [{
        id: groupId, identityId: ME, contactKey: BOB, direction: 'in', kind: 'text', text: '', payloadType: 'box_message', payload: '',
        share: null, sortAt: 5, createdAt: 5, status: null, localId: null, error: null, ackIds: [], ackedIds: [],
        parts: { count: 3, received: { 0: 'One, ', 2: 'three.' } }, read: false,
      }],
      conversations: [{ identityId: ME, contactKey: BOB, lastMessageAt: 5, lastMessagePreview: 'Receiving a long message…', lastMessageDirection: 'in', unreadCount: 1, messageCount: 1 }],
      pendingReceipts: [
        { identityId: ME, acknowledgeId: 'day-old', senderKey: BOB, receivedAt: Date.now() - 2 * DAY },
        { identityId: ME, acknowledgeId: 'fresh', senderKey: BOB, receivedAt: Date.now() },
      ],
    });
    const shape = await call<{ version: number; stores: string[]; contactIndexes: string[]; pendingReceiptIndexes: string[] }>(page, 'openAndDescribe');
    expect(shape.version).toBe(90);
    expect(shape.stores).toContain('textParts');
    expect(shape.contactIndexes).toContain('[identityId+status]');
    expect(shape.pendingReceiptIndexes).toEqual(['[identityId+senderKey]', 'receivedAt']);

    await call(page, 'writeBatch', batch('b1', [piece(1, 'g0', 1, 3, BOB)]));
    const [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message).toMatchObject({ id: groupId, text: 'One, g0:1;three.', parts: { count: 3, stored: 3 } });
    expect(await call<unknown[]>(page, 'textParts')).toEqual([]);
    const [conversation] = await call<Array<{ messageCount: number; lastMessagePreview: string }>>(page, 'conversations');
    expect(conversation).toMatchObject({ messageCount: 1, lastMessagePreview: 'One, g0:1;three.' });

    // Receipts waiting for a message expire after a day.
    await call(page, 'writeBatch', batch('b2', [], [receipt('unknown-id')]));
    expect((await call<Array<{ acknowledgeId: string }>>(page, 'pendingReceipts')).map((r) => r.acknowledgeId).sort()).toEqual(['fresh', 'unknown-id']);
  });

  test('schema 7 → 8 (and on): stores for posts and post copies; older records stay; posts and contact updates are stored, sealed', async ({ page }) => {
    const newDrop = 'https://drop.example.org/d/' + 'N'.repeat(43);
    await call(page, 'seedVersion', 6, {
      contacts: [accepted(BOB)],
      messages: [{
        id: `in:${ME}:old`, identityId: ME, contactKey: BOB, direction: 'in', kind: 'text', text: 'before', payloadType: 'box_message', payload: '',
        share: null, sortAt: 5, createdAt: 5, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
      }],
      conversations: [{ identityId: ME, contactKey: BOB, lastMessageAt: 5, lastMessagePreview: 'before', lastMessageDirection: 'in', unreadCount: 0, messageCount: 1 }],
    });
    const shape = await call<{ version: number; stores: string[]; contacts: Array<{ alias: string; dropUrls: string[] }> }>(page, 'openAndDescribe');
    expect(shape.version).toBe(90);
    expect(shape.stores).toEqual(expect.arrayContaining(['posts', 'postCopies']));
    expect(shape.contacts).toMatchObject([{ alias: 'Contact', dropUrls: [BOB_DROP] }]);

    const post = incoming(1, { type: 'box_microblog', payload: '{}', text: null, content: { type: 'box_microblog', msg: 'A secret post', postId: 'p1' } });
    const update = incoming(2, {
      type: 'box_contact_update', payload: '{}', text: null, acknowledgeId: '0',
      content: { type: 'box_contact_update', alias: 'Robert', dropUrls: [BOB_DROP, newDrop], revision: 1_700_000_000_002 },
    });
    await call(page, 'writeBatch', batch('b1', [post, update, { ...post, dedupeKey: `${BOB}:copy` }]));
    const posts = await call<Array<Record<string, unknown>>>(page, 'rawRecords', 'posts');
    expect(posts).toHaveLength(1);
    expect(Object.keys(posts[0]!).sort()).toEqual(['authorKey', 'id', 'identityId', 'sealed', 'sortAt', 'unread']);
    expect(JSON.stringify(posts)).not.toContain('secret');
    expect(await call<Array<{ alias: string; dropUrls: string[] }>>(page, 'contacts')).toMatchObject([{ alias: 'Robert', dropUrls: [BOB_DROP, newDrop] }]);
    const messages = await call<StoredMessage[]>(page, 'messages');
    expect(messages.map((m) => [m.kind, m.text])).toEqual([
      ['text', 'before'],
      ['event', 'Contact is now called Robert\nRobert now also receives at drop.example.org'],
    ]);
    const [conversation] = await call<Array<{ messageCount: number; unreadCount: number }>>(page, 'conversations');
    expect(conversation).toMatchObject({ messageCount: 2, unreadCount: 0 });
  });

  test('schema 8 → 9 (and on): a store for shared folders; older records stay; an announcement is stored there, sealed, never in the chat', async ({ page }) => {
    await call(page, 'seedVersion', 6, {
      contacts: [accepted(BOB)],
      messages: [{
        id: `in:${ME}:old`, identityId: ME, contactKey: BOB, direction: 'in', kind: 'text', text: 'before', payloadType: 'box_message', payload: '',
        share: null, sortAt: 5, createdAt: 5, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
      }],
    });
    const shape = await call<{ version: number; stores: string[] }>(page, 'openAndDescribe');
    expect(shape.version).toBe(90);
    expect(shape.stores).toContain('shares');

    const b64 = 'L'.repeat(43);
    const listingRef = { scheme: 'deaddrop-file-1' as const, url: `http://127.0.0.1:9/blobs/${b64}`, key: b64, size: 200, cipherSize: 240, hash: b64 };
    const announce = (n: number, revision: number) =>
      incoming(n, {
        type: 'box_share_notification', payload: '{}', text: null, share: { file: 'Secret holiday', url: listingRef.url, size: 200 },
        content: {
          type: 'box_share_notification', msg: '', file: 'Secret holiday', url: listingRef.url, key: b64, size: 200, ref: listingRef, mime: 'application/json',
          share: { id: 'share-1', revision, removed: false },
        },
      });
    expect(await call(page, 'writeBatch', batch('b1', [announce(1, 2), announce(2, 1)]))).toMatchObject({ inserted: 2, dropped: 0 });
    const shares = await call<Array<Record<string, unknown>>>(page, 'rawRecords', 'shares');
    expect(shares).toHaveLength(1);
    expect(Object.keys(shares[0]!).sort()).toEqual(['id', 'identityId', 'sealed']);
    expect(shares[0]).toMatchObject({ id: `in:${ME}:${BOB}:share-1`, identityId: ME });
    expect(JSON.stringify(shares)).not.toContain('Secret');
    expect((await call<StoredMessage[]>(page, 'messages')).map((m) => m.text)).toEqual(['before']);
  });

  test('long texts: a group claiming more than MAX_TEXT_PARTS pieces is dropped and counted; the longest allowed completes from a request', async ({ page }) => {
    const oversized = await call<{ inserted: number; dropped: number }>(page, 'writeBatch', batch('b1', range(0, 5).map((i) => piece(i, 'big', i, MAX_TEXT_PARTS + 1))));
    expect(oversized).toMatchObject({ inserted: 0, dropped: 5 });
    expect(await call<StoredMessage[]>(page, 'messages')).toEqual([]);
    expect(await call<StoredContact[]>(page, 'contacts')).toMatchObject([{ publicKey: EVE, status: 'unknown', unstoredMessages: 5 }]);

    // MAX_TEXT_PARTS pieces, newest first, over two batches: stored as records, joined once.
    const pieces = range(0, MAX_TEXT_PARTS).reverse().map((index) => piece(1000 + index, 'long', index, MAX_TEXT_PARTS));
    await call(page, 'writeBatch', batch('b2', pieces.slice(0, 200)));
    expect(await call<unknown[]>(page, 'textParts')).toHaveLength(200);
    const [arriving] = await call<StoredMessage[]>(page, 'messages');
    expect(arriving).toMatchObject({ text: '', parts: { count: MAX_TEXT_PARTS, stored: 200 } });
    await call(page, 'writeBatch', batch('b3', pieces.slice(200)));
    const [message] = await call<StoredMessage[]>(page, 'messages');
    expect(message!.text).toBe(range(0, MAX_TEXT_PARTS).map((i) => `long:${i};`).join(''));
    expect(await call<unknown[]>(page, 'textParts')).toEqual([]);
  });

  test('a request keeps MAX_REQUEST_MESSAGES messages; the rest is counted once, also when the batch comes again; a contact has no such bound', async ({ page }) => {
    const flood = range(0, MAX_REQUEST_MESSAGES + 30).map((n) => fromEve(n));
    expect(await call(page, 'writeBatch', batch('f1', flood))).toMatchObject({ inserted: MAX_REQUEST_MESSAGES, dropped: 30 });
    expect(await call(page, 'writeBatch', batch('f1', flood))).toMatchObject({ inserted: 0, duplicates: MAX_REQUEST_MESSAGES, dropped: 30 });
    const [eve] = await call<Array<StoredContact & Record<string, unknown>>>(page, 'contacts');
    expect(eve).toMatchObject({ status: 'unknown', unstoredMessages: 30 });
    expect(await call(page, 'conversations')).toMatchObject([{ contactKey: EVE, messageCount: MAX_REQUEST_MESSAGES, unreadCount: MAX_REQUEST_MESSAGES }]);
    await call(page, 'renderRequestBar', eve);
    await expect(page.getByTestId('request-unstored')).toContainText('And 30 more messages from them, not kept');

    await call(page, 'addContact', accepted(BOB));
    const fromBob = range(0, MAX_REQUEST_MESSAGES + 30).map((n) => incoming(n));
    expect(await call(page, 'writeBatch', batch('b1', fromBob))).toMatchObject({ inserted: MAX_REQUEST_MESSAGES + 30, dropped: 0 });
  });

  test('unfinished long texts are bounded per sender: one longest text for a request, four for a contact; a completing piece is kept', async ({ page }) => {
    const requestPieces = [
      ...range(0, MAX_TEXT_PARTS - 1).map((i) => piece(i, 'a', i, MAX_TEXT_PARTS)),
      piece(500, 'b', 0, 3), // the bound exactly
      piece(501, 'b', 1, 3), // beyond it
      piece(502, 'a', MAX_TEXT_PARTS - 1, MAX_TEXT_PARTS), // completes "a": kept, and frees its pieces
      piece(503, 'b', 1, 3),
      piece(504, 'b', 2, 3),
    ];
    expect(await call(page, 'writeBatch', batch('r1', requestPieces))).toMatchObject({ inserted: MAX_TEXT_PARTS + 3, dropped: 1 });
    expect((await call<StoredMessage[]>(page, 'messages')).map((m) => m.parts)).toEqual([
      { count: MAX_TEXT_PARTS, stored: MAX_TEXT_PARTS },
      { count: 3, stored: 3 },
    ]);
    expect(await call<unknown[]>(page, 'textParts')).toEqual([]);

    // Bob, a contact, may have four longest texts unfinished at once.
    await call(page, 'addContact', accepted(BOB));
    const bobPieces = range(0, 5).flatMap((g) => range(0, MAX_TEXT_PARTS - 1).map((i) => piece(g * 1000 + i, `bob${g}`, i, MAX_TEXT_PARTS, BOB)));
    const written = await call<{ dropped: number }>(page, 'writeBatch', batch('c1', bobPieces));
    expect(written.dropped).toBe(5 * (MAX_TEXT_PARTS - 1) - 4 * MAX_TEXT_PARTS);
    expect(await call<unknown[]>(page, 'textParts')).toHaveLength(4 * MAX_TEXT_PARTS);
    expect((await call<StoredContact[]>(page, 'contacts')).find((c) => c.publicKey === BOB)!.unstoredMessages).toBe(written.dropped);
  });

  test('open requests are capped per identity: messages from further strangers are counted, not stored', async ({ page }) => {
    const stranger = (i: number) => i.toString(16).padStart(64, 'f');
    const hellos = range(0, MAX_OPEN_REQUESTS + 20).map((i) => incoming(i, { senderKey: stranger(i), dedupeKey: `${stranger(i)}:1` }));
    expect(await call(page, 'writeBatch', batch('s1', hellos))).toMatchObject({ inserted: MAX_OPEN_REQUESTS, dropped: 20 });
    expect(await call<unknown[]>(page, 'contacts')).toHaveLength(MAX_OPEN_REQUESTS);
    expect(await call(page, 'unstoredRequests', ME)).toBe(20);
    // Another identity has its own requests; an answered request makes room.
    expect(await call(page, 'writeBatch', batch('s2', [incoming(1, { identityId: 'identity-2', senderKey: EVE, dedupeKey: `${EVE}:x` })]))).toMatchObject({ inserted: 1 });
    await call(page, 'setContactStatus', ME, stranger(0), 'ignored');
    expect(await call(page, 'writeBatch', batch('s3', [fromEve(1)]))).toMatchObject({ inserted: 1, dropped: 0 });
    expect(await call(page, 'writeBatch', batch('s4', [fromEve(2, { senderKey: CAROL, dedupeKey: `${CAROL}:2` })]))).toMatchObject({ inserted: 0, dropped: 1 });
    expect(await call(page, 'unstoredRequests', ME)).toBe(21);
  });

  test('Block: nothing a blocked sender sends is written, and their unfinished long texts go', async ({ page }) => {
    await call(page, 'writeBatch', batch('b1', [fromEve(1), piece(2, 'g', 0, 3)]));
    expect(await call<unknown[]>(page, 'textParts')).toHaveLength(1);
    await call(page, 'setContactStatus', ME, EVE, 'blocked');
    expect(await call<unknown[]>(page, 'textParts')).toEqual([]);
    const before = { seen: await call<number>(page, 'seenCount'), contacts: await call(page, 'contacts'), messages: await call(page, 'messages') };
    const written = await call(page, 'writeBatch', batch('b2', [fromEve(3), piece(4, 'g', 1, 3), piece(5, 'big', 0, 4096)]));
    expect(written).toMatchObject({ inserted: 0, dropped: 3, owedReceipts: [] });
    expect({ seen: await call<number>(page, 'seenCount'), contacts: await call(page, 'contacts'), messages: await call(page, 'messages') }).toEqual(before);
  });

  test('receipts waiting for a message: only from contacts, at most MAX_WAITING_RECEIPTS_PER_SENDER per sender, for a day', async ({ page }) => {
    await call(page, 'addContact', accepted(BOB));
    await call(page, 'writeBatch', batch('r1', [], range(0, 3).map((i) => receipt(`spoofed-${i}`, EVE))));
    expect(await call<unknown[]>(page, 'pendingReceipts')).toEqual([]);
    await call(page, 'writeBatch', batch('r2', [], range(0, MAX_WAITING_RECEIPTS_PER_SENDER + 10).map((i) => receipt(`early-${i}`, BOB, Date.now() - 2 * DAY))));
    expect(await call<unknown[]>(page, 'pendingReceipts')).toHaveLength(MAX_WAITING_RECEIPTS_PER_SENDER);
    // A day later they are gone, and the sender may have others waiting.
    await call(page, 'writeBatch', batch('r3', [], [receipt('later')]));
    expect((await call<Array<{ acknowledgeId: string }>>(page, 'pendingReceipts')).map((r) => r.acknowledgeId)).toEqual(['later']);
  });

  test('a stranger’s 4,096-message flood collapses to one request while it is written; a contact’s message in it is stored; Block works during it', async ({ page }) => {
    // 2,048 pieces of one text claiming 4,096, then 8 texts of MAX_TEXT_PARTS pieces that never finish,
    // in 16 batches; Bob writes during the flood (batches 4 and 12).
    const floodBatches = () => {
      const flood = [
        ...range(0, 2048).map((i) => piece(i, 'huge', i, 4096)),
        ...range(0, 8).flatMap((g) => range(0, MAX_TEXT_PARTS - 1).map((i) => piece(10_000 + g * 1000 + i, `t${g}`, i, MAX_TEXT_PARTS))),
        ...range(0, 8).map((n) => fromEve(n)),
      ];
      expect(flood).toHaveLength(4096);
      return range(0, 16).map((b) => batch(`flood-${b}`, [...flood.slice(b * 256, (b + 1) * 256), ...(b === 4 || b === 12 ? [incoming(b)] : [])]));
    };
    const bobIds = [`in:${ME}:${BOB}:ack-4`, `in:${ME}:${BOB}:ack-12`];
    const eveRows = (ids: string[]) => ids.filter((id) => id.includes(EVE));

    await call(page, 'addContact', accepted(BOB));
    await call(page, 'startSync');
    for (const b of floodBatches()) await call(page, 'deliverBatch', b);
    await expect.poll(() => call<unknown[]>(page, 'syncAcks').then((acks) => acks.length)).toBe(16);
    const acks = await call<Array<{ batchId: string; storedIds: string[] }>>(page, 'syncAcks');
    expect(acks.map((a) => a.batchId)).toEqual(range(0, 16).map((b) => `flood-${b}`));
    // Bob's message is stored when its batch is acknowledged; Eve never has more than a request's share.
    expect(acks[4]!.storedIds).toContain(bobIds[0]);
    expect(acks[12]!.storedIds).toContain(bobIds[1]);
    for (const ack of acks) expect(eveRows(ack.storedIds).length).toBeLessThanOrEqual(MAX_REQUEST_MESSAGES);
    const eve = (await call<StoredContact[]>(page, 'contacts')).find((c) => c.publicKey === EVE)!;
    // Kept: t0 (255 pieces) and the first piece of t1 (the pending bound), and the 8 short messages.
    expect(eveRows(acks[15]!.storedIds)).toHaveLength(10);
    expect(eve).toMatchObject({ status: 'unknown', unstoredMessages: 4096 - MAX_TEXT_PARTS - 8 });
    expect(await call<unknown[]>(page, 'textParts')).toHaveLength(MAX_TEXT_PARTS);
    await call(page, 'stopSync');

    // Again, with Eve known as a request, and Block pressed as soon as the flood is handed over.
    await call(page, 'reset');
    await call(page, 'addContact', accepted(BOB));
    await call(page, 'addContact', { ...accepted(EVE), alias: 'Eve', dropUrls: [], status: 'unknown' });
    await call(page, 'startSync');
    const atBlock = await call<{ acks: number; storedIds: string[] }>(page, 'deliverAndBlock', floodBatches(), ME, EVE);
    expect(atBlock.acks).toBeLessThan(16);
    await expect.poll(() => call<unknown[]>(page, 'syncAcks').then((acks) => acks.length)).toBe(16);
    const stored = (await call<StoredMessage[]>(page, 'messages')).map((m) => m.id);
    expect(stored).toEqual(expect.arrayContaining(bobIds));
    expect(eveRows(stored)).toEqual(eveRows(atBlock.storedIds));
    expect(await call<unknown[]>(page, 'textParts')).toEqual([]);
    await call(page, 'stopSync');
  });
  test('contacts and conversations are listed virtualised: 3,000 strangers cost a screenful; strangers not kept are counted', async ({ page }) => {
    const key = (i: number) => i.toString(16).padStart(64, '0');
    const alias = (i: number) => `Stranger ${String(i).padStart(4, '0')}`;
    await call(page, 'putRecords', 'contacts', range(0, 3000).map((i) => ({
      identityId: ME, publicKey: key(i), alias: alias(i), aliasLower: alias(i).toLowerCase(), dropUrls: [], offeredDropUrls: [], status: i % 2 ? 'ignored' : 'accepted', createdAt: i,
    })));
    await call(page, 'putRecords', 'conversations', range(0, 3000).map((i) => ({
      identityId: ME, contactKey: key(i), lastMessageAt: 1_700_000_000_000 + i, lastMessagePreview: `hello ${i}`, lastMessageDirection: 'in', unreadCount: 0, messageCount: 1,
    })));
    const hellos = range(0, MAX_OPEN_REQUESTS + 5).map((i) => incoming(i, { senderKey: i.toString(16).padStart(64, 'f'), dedupeKey: `f:${i}` }));
    await call(page, 'writeBatch', batch('b1', hellos));

    await call(page, 'renderContacts', { id: ME, alias: 'Me', publicKey: 'a'.repeat(64), dropUrls: [], dropBits: 256, createdAt: 1 });
    await expect(page.getByTestId('request-item').first()).toBeVisible();
    await expect(page.getByTestId('requests-unstored')).toContainText('And 5 more messages from further strangers, not kept');
    // Polled (a list that renders every row never gets there): the rows are counted once the
    // virtualiser has measured its scroll container, not while it renders its first estimate.
    const rendered = async () => (await page.getByTestId('request-item').count()) + (await page.getByTestId('contact-item').count());
    await expect.poll(rendered).toBeLessThan(80);
    await page.locator('.list-pane').evaluate((pane) => pane.scrollTo(0, pane.scrollHeight));
    await expect(page.getByTestId('contact-item').filter({ hasText: alias(2999) })).toBeVisible();
    await expect.poll(rendered).toBeLessThan(80);

    // The conversation list: ignored strangers are hidden, the others newest first, a screenful at a time.
    await call(page, 'renderConversations', ME);
    await expect(page.getByTestId('conversation-item').first()).toBeVisible();
    await expect.poll(() => page.getByTestId('conversation-item').count()).toBeLessThan(60);
    await page.locator('.conversation-list').evaluate((list) => list.scrollTo(0, list.scrollHeight));
    await expect(page.getByTestId('conversation-item').filter({ hasText: alias(0) })).toBeVisible();
  });
});
