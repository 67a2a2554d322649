import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Capabilities, EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import { ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import type { ContactRecord, ContactStatus, MessageRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { useSession } from '../stores/sessionStore.js';
import { MAX_NOTIFICATIONS_PER_BATCH, notifyNewMessages, withNewlyStored } from './newMessageNotifications.js';
import { notificationText } from './notificationText.js';

const key = (c: string) => c.repeat(64);
const desktop: Capabilities = { localServer: true, notifications: true, cameraGate: true, desktopSettings: true, externalLinks: true, debugLog: true, fileDialogs: true };

function incoming(senderKey: string, dedupeKey: string, text: string, overrides: Partial<IncomingMessage> = {}): IncomingMessage {
  return {
    dedupeKey, identityId: 'me', senderKey, type: 'box_message', payload: JSON.stringify({ message: text }), content: { type: 'box_message', msg: text, part: null }, text, share: null, part: null,
    acknowledgeId: '0', meta: { alias: 'Sam' }, sentAt: 1, receivedAt: 2, dropUrl: 'http://127.0.0.1:1/drop', ...overrides,
  };
}

function contact(publicKey: string, alias: string, status: ContactStatus): ContactRecord {
  return { identityId: 'me', publicKey, alias, aliasLower: alias.toLowerCase(), dropUrls: [], offeredDropUrls: [], status, createdAt: 1 };
}

/** A bridge that records what the UI asks the shell to show. */
function recordingBridge(shown: unknown[]): EngineBridge {
  return {
    kind: 'electron',
    async invoke(channel: string, request: unknown) {
      if (channel === 'notifications/show') shown.push(request);
      if (channel === 'desktop/getSettings') return ok({ notificationPreview: 'nameAndText' });
      return ok(null);
    },
    on: () => () => undefined,
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
}

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('notify');
  useSession.getState().setAppInfo({ version: '0', host: 'electron', paused: false, locked: false, keyProtection: 'host', capabilities: desktop });
});
afterEach(deleteTestDatabases);

describe('notifications for newly stored messages', () => {
  it('notifies contacts and strangers once, never ignored or blocked senders, nor a long text before its last part', async () => {
    await db.contacts.bulkPut([contact(key('a'), 'Alice', 'accepted'), contact(key('c'), 'Ivan', 'ignored'), contact(key('d'), 'Bert', 'blocked')]);
    const batch: EventMap['inbox/batch'] = {
      batchId: 'b1',
      messages: [
        incoming(key('a'), 'a:1', 'hello from Alice'),
        incoming(key('b'), 'b:1', 'hello from a stranger'),
        incoming(key('c'), 'c:1', 'hello from the ignored one'),
        incoming(key('d'), 'd:1', 'hello from the blocked one'),
        incoming(key('a'), 'a:2', 'first half ', { part: { groupId: 'g', index: 0, count: 2 } }),
      ],
      receipts: [],
    };
    const shown: unknown[] = [];
    const bridge = recordingBridge(shown);
    const { stored } = await withNewlyStored(db, batch, () => writeInboxBatch(db, batch));
    await notifyNewMessages(bridge, db, stored);
    const conversation = (c: string) => ({ identityId: 'me', contactKey: key(c) });
    expect(shown).toEqual([
      { title: 'Alice', body: 'hello from Alice', conversation: conversation('a') },
      { title: 'Sam (unverified)', body: 'hello from a stranger', conversation: conversation('b') },
    ]);

    // The same batch again (at-least-once delivery) announces nothing; the long text's last part does.
    const again = await withNewlyStored(db, batch, () => writeInboxBatch(db, batch));
    expect(again.stored).toEqual([]);
    const rest = { batchId: 'b2', messages: [incoming(key('a'), 'a:3', 'second half', { part: { groupId: 'g', index: 1, count: 2 } })], receipts: [] };
    const last = await withNewlyStored(db, rest, () => writeInboxBatch(db, rest));
    await notifyNewMessages(bridge, db, last.stored);
    expect(shown.slice(2)).toEqual([{ title: 'Alice', body: 'first half second half', conversation: conversation('a') }]);
  });
  it('raises one notification per conversation and batch, the newest message, and at most a few per batch', async () => {
    const flood = {
      batchId: 'f1',
      messages: [
        ...Array.from({ length: 30 }, (_, i) => incoming(key('e'), `e:${i}`, `spam ${i}`, { sentAt: i, receivedAt: i })),
        ...['1', '2', '3', '4', '5'].map((c) => incoming(key(c), `${c}:1`, `hello from ${c}`)),
      ],
      receipts: [],
    };
    const shown: Array<{ conversation: { contactKey: string }; body: string }> = [];
    const { stored } = await withNewlyStored(db, flood, () => writeInboxBatch(db, flood));
    await notifyNewMessages(recordingBridge(shown), db, stored);
    expect(shown.length).toBe(MAX_NOTIFICATIONS_PER_BATCH);
    expect(new Set(shown.map((n) => n.conversation.contactKey)).size).toBe(shown.length);
    const fromE = shown.find((n) => n.conversation.contactKey === key('e'));
    if (fromE) expect(fromE.body).toBe('spam 29');
  });
  it('asks nothing of a host without notifications', async () => {
    useSession.getState().setAppInfo({ version: '0', host: 'websocket', paused: false, locked: false, keyProtection: 'host', capabilities: { ...desktop, notifications: false } });
    const batch = { batchId: 'b1', messages: [incoming(key('b'), 'b:1', 'hi')], receipts: [] };
    const shown: unknown[] = [];
    const { stored } = await withNewlyStored(db, batch, () => writeInboxBatch(db, batch));
    expect(stored).toHaveLength(1);
    await notifyNewMessages(recordingBridge(shown), db, stored);
    expect(shown).toEqual([]);
  });
});

describe('notification text', () => {
  const message = (overrides: Partial<MessageRecord> = {}): MessageRecord => ({
    id: 'in:1', identityId: 'me', contactKey: key('a'), direction: 'in', kind: 'text', text: 'hello there', payloadType: 'box_message', payload: '',
    share: null, sortAt: 1, createdAt: 1, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: false, ...overrides,
  });
  const alice = contact(key('a'), 'Alice', 'accepted');

  it('shows name and text, name only, or nothing, as the privacy setting says', () => {
    expect(notificationText(message(), alice, 'nameAndText')).toEqual({ title: 'Alice', body: 'hello there' });
    expect(notificationText(message(), alice, 'nameOnly')).toEqual({ title: 'Alice', body: 'New message' });
    expect(notificationText(message(), alice, 'nothing')).toEqual({ title: 'Deaddrop', body: 'New message' });
  });
  it('marks names the user did not confirm and falls back to a key prefix', () => {
    expect(notificationText(message(), contact(key('a'), 'Alice', 'unknown'), 'nameOnly').title).toBe('Alice (unverified)');
    expect(notificationText(message(), undefined, 'nameOnly').title).toBe(`Unknown contact ${key('a').slice(0, 8)}`);
  });
  it('keeps control and bidi-override characters out of names and text', () => {
    const spoof = contact(key('a'), 'Bob\u202e)deifirev(\u202c\nBank', 'unknown');
    expect(notificationText(message({ text: 'line1\r\nline2\u0007' }), spoof, 'nameAndText')).toEqual({ title: 'Bob )deifirev( Bank (unverified)', body: 'line1 line2' });
    expect(notificationText(message(), contact(key('a'), '\u2067Eve\u2069', 'accepted'), 'nameOnly').title).toBe('Eve');
  });
  it('describes shared files and shortens long texts', () => {
    const share = message({ kind: 'share', share: { file: 'photo.jpg', url: 'https://x', size: 3 }, text: '' });
    expect(notificationText(share, alice, 'nameAndText').body).toBe('Shared a file: photo.jpg');
    expect(notificationText(message({ text: 'x'.repeat(1000) }), alice, 'nameAndText').body.length).toBeLessThanOrEqual(180);
  });
});
