import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, RequestOf } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from './database.js';
import { applyReceipts } from './incomingReceipts.js';
import { repostEnded, statusText } from '../chat/MessageBubble.js';
import { applyOutboxDelivered, applyOutboxStatus, cancelMessage, mergeCopies, queueFileMessage, queueTextMessage, recordUploadedFile, resumeOutbox, retryMessage, submitMessage } from './outbox.js';
import type { ContactRecord } from './records.js';
import { deleteTestDatabases, openTestDatabase } from './testDatabase.js';

const BOB = 'b'.repeat(64);

function contact(dropUrls = ['http://127.0.0.1:1/bob']): ContactRecord {
  return { identityId: 'me', publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls, offeredDropUrls: [], status: 'accepted', createdAt: 1 };
}

/** The engine as the outbox sees it: records each call and answers `messages/send` as told. */
function scriptedEngine(answer: (request: RequestOf<'messages/send'>) => Result<unknown>) {
  const calls: Array<[Channel, unknown]> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: unknown) {
      calls.push([channel, request]);
      return channel === 'messages/send' ? answer(request as RequestOf<'messages/send'>) : ok(null);
    },
    on: () => () => undefined,
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  return { bridge, calls };
}

const accepting = (parts = 1) => scriptedEngine((r) => ok({ localId: r.localId, acknowledgeIds: Array.from({ length: parts }, (_, i) => `${r.localId}-${i}`), parts }));

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('outbox');
  await db.contacts.put(contact());
});
afterEach(deleteTestDatabases);

describe('outbox', () => {
  it('stores a message as queued before the engine hears of it, and moves the conversation to it', async () => {
    await db.conversations.put({ identityId: 'me', contactKey: BOB, lastMessageAt: 1, lastMessagePreview: 'hi', lastMessageDirection: 'in', unreadCount: 3, messageCount: 3 });
    const message = await queueTextMessage(db, 'me', contact(), 'Hello  there\nBob', 500);
    expect(await db.messages.get(message.id)).toMatchObject({ status: 'queued', direction: 'out', text: 'Hello  there\nBob', sortAt: 500, localId: message.id.slice(4), read: true });
    expect(await db.conversations.get(['me', BOB])).toMatchObject({ lastMessageAt: 500, lastMessagePreview: 'Hello there Bob', lastMessageDirection: 'out', unreadCount: 3, messageCount: 4 });
    // Each message gets its own local id.
    expect((await queueTextMessage(db, 'me', contact(), 'again')).localId).not.toBe(message.localId);
  });

  it('records the acknowledge ids the engine answers, and a receipt that overtook the answer makes it delivered at once', async () => {
    const engine = accepting(2);
    const message = await queueTextMessage(db, 'me', contact(), 'two parts');
    await db.pendingReceipts.put({ identityId: 'me', acknowledgeId: `${message.localId}-0`, senderKey: BOB, receivedAt: Date.now() });
    await submitMessage(db, engine.bridge, message);
    expect(engine.calls[0]).toEqual(['messages/send', { identityId: 'me', localId: message.localId, recipient: { publicKey: BOB, dropUrls: contact().dropUrls }, text: 'two parts', wantReceipt: true }]);
    expect(await db.messages.get(message.id)).toMatchObject({ status: 'queued', ackIds: [`${message.localId}-0`, `${message.localId}-1`], ackedIds: [`${message.localId}-0`] });
    await db.transaction('rw', [db.messages, db.contacts, db.pendingReceipts], () => applyReceipts(db, [{ identityId: 'me', senderKey: BOB, acknowledgeId: `${message.localId}-1`, receivedAt: Date.now() }]));
    expect((await db.messages.get(message.id))!.status).toBe('delivered');
  });

  it('an early receipt from someone other than the recipient does not count', async () => {
    const message = await queueTextMessage(db, 'me', contact(), 'one');
    await db.pendingReceipts.put({ identityId: 'me', acknowledgeId: `${message.localId}-0`, senderKey: 'e'.repeat(64), receivedAt: Date.now() });
    await submitMessage(db, accepting(1).bridge, message);
    expect(await db.messages.get(message.id)).toMatchObject({ status: 'queued', ackedIds: [] });
  });

  it('keeps a message queued while the engine is away, and fails it with the engine’s reason when refused', async () => {
    const away = await queueTextMessage(db, 'me', contact(), 'later');
    for (const code of ['unavailable', 'timeout', 'locked'] as const) {
      await submitMessage(db, scriptedEngine(() => fail(code, 'not now')).bridge, away);
      expect((await db.messages.get(away.id))!.status).toBe('queued');
    }
    await submitMessage(db, scriptedEngine(() => fail('invalid_request', 'The recipient key is not valid.')).bridge, away);
    expect(await db.messages.get(away.id)).toMatchObject({ status: 'failed', error: 'The recipient key is not valid.' });
  });

  it('fails a message to a contact without drop address, saying so, without asking the engine', async () => {
    await db.contacts.put(contact([]));
    const engine = accepting();
    const message = await queueTextMessage(db, 'me', contact([]), 'nowhere');
    await submitMessage(db, engine.bridge, message);
    expect(engine.calls).toEqual([]);
    expect(await db.messages.get(message.id)).toMatchObject({ status: 'failed', error: 'This contact has no drop address to send to.' });
  });

  it('applies the engine’s progress but never moves a message back from delivered or cancelled', async () => {
    const m = await queueTextMessage(db, 'me', contact(), 'progress');
    await applyOutboxStatus(db, { localId: m.localId!, status: 'sending' });
    expect((await db.messages.get(m.id))!.status).toBe('sending');
    await applyOutboxStatus(db, { localId: m.localId!, status: 'failed' });
    expect(await db.messages.get(m.id)).toMatchObject({ status: 'failed', error: 'Sending failed.' });
    await applyOutboxStatus(db, { localId: m.localId!, status: 'posted' });
    expect(await db.messages.get(m.id)).toMatchObject({ status: 'posted', error: null });
    await db.messages.update(m.id, { status: 'delivered' });
    await applyOutboxStatus(db, { localId: m.localId!, status: 'failed', error: 'late' });
    expect((await db.messages.get(m.id))!.status).toBe('delivered');
    await db.messages.update(m.id, { status: 'cancelled' });
    await applyOutboxStatus(db, { localId: m.localId!, status: 'posted' });
    expect((await db.messages.get(m.id))!.status).toBe('cancelled');
    // A status for a message this window does not have changes nothing.
    await applyOutboxStatus(db, { localId: 'unknown', status: 'posted' });
    expect(await db.messages.count()).toBe(1);
  });

  it('resumes every unfinished message after a restart, oldest first, under its own local id', async () => {
    const engine = accepting();
    const newer = await queueTextMessage(db, 'me', contact(), 'newer', 300);
    const older = await queueTextMessage(db, 'me', contact(), 'older', 100);
    const sending = await queueTextMessage(db, 'me', contact(), 'sending', 200);
    await db.messages.update(sending.id, { status: 'sending' });
    for (const [status, at] of [['posted', 10], ['failed', 11], ['cancelled', 12], ['delivered', 13]] as const) {
      const done = await queueTextMessage(db, 'me', contact(), status, at);
      await db.messages.update(done.id, { status });
    }
    expect(await resumeOutbox(db, engine.bridge)).toBe(3);
    expect(engine.calls.map(([, r]) => (r as RequestOf<'messages/send'>).localId)).toEqual([older.localId, sending.localId, newer.localId]);
  });

  it('never hands a file to the engine as a text: before its upload is done not at all, after it as its notice', async () => {
    const engine = accepting();
    const file = await queueFileMessage(db, 'me', contact(), { name: 'photo.png', size: 1234 }, '');
    await db.messages.update(file.id, { status: 'sending' });
    expect(await resumeOutbox(db, engine.bridge)).toBe(1);
    expect(engine.calls).toEqual([]);

    const ref = { scheme: 'deaddrop-file-1' as const, url: `http://127.0.0.1:1/blobs/${'a'.repeat(43)}`, key: 'k'.repeat(43), size: 1234, cipherSize: 1266, hash: 'h'.repeat(43) };
    await recordUploadedFile(db, file.localId!, ref, 'image/png');
    await resumeOutbox(db, engine.bridge);
    const request = engine.calls[0]![1] as RequestOf<'messages/send'>;
    expect(request).toMatchObject({ localId: file.localId, content: { type: 'box_share_notification', file: 'photo.png', text: '', mime: 'image/png', ref } });
    expect(request.text).toBeUndefined();
  });

  it('takes a file notice’s receipt ids from its status, and a late "sending" never undoes "posted"', async () => {
    const file = await queueFileMessage(db, 'me', contact(), { name: 'a.txt', size: 1 }, 'caption');
    await applyOutboxStatus(db, { localId: file.localId!, status: 'posted' });
    await applyOutboxStatus(db, { localId: file.localId!, status: 'sending', acknowledgeIds: ['ack-1'] });
    expect(await db.messages.get(file.id)).toMatchObject({ status: 'posted', ackIds: ['ack-1'] });
    await applyReceipts(db, [{ identityId: 'me', senderKey: BOB, acknowledgeId: 'ack-1', receivedAt: 5 }]);
    expect((await db.messages.get(file.id))!.status).toBe('delivered');
  });

  it('retries only a failed message, under the same local id', async () => {
    const engine = accepting();
    const m = await queueTextMessage(db, 'me', contact(), 'retry me');
    await retryMessage(db, engine.bridge, m.id);
    expect(engine.calls).toEqual([]);
    await db.messages.update(m.id, { status: 'failed', error: 'no' });
    await retryMessage(db, engine.bridge, m.id);
    expect((engine.calls[0]![1] as RequestOf<'messages/send'>).localId).toBe(m.localId);
    expect(await db.messages.get(m.id)).toMatchObject({ status: 'queued', error: null, ackIds: [`${m.localId}-0`] });
  });

  it('cancels a message that has not gone out, and tells the engine; one already posted stays', async () => {
    const engine = accepting();
    const queued = await queueTextMessage(db, 'me', contact(), 'stop');
    await cancelMessage(db, engine.bridge, queued.id);
    expect((await db.messages.get(queued.id))!.status).toBe('cancelled');
    expect(engine.calls).toEqual([['messages/cancel', { localId: queued.localId }]]);
    const posted = await queueTextMessage(db, 'me', contact(), 'gone');
    await db.messages.update(posted.id, { status: 'posted' });
    await cancelMessage(db, engine.bridge, posted.id);
    expect((await db.messages.get(posted.id))!.status).toBe('posted');
    expect(engine.calls).toHaveLength(1);
  });

  it('counts the copies servers took (k of n) and shows them; a late or resumed report never takes one back', async () => {
    const m = await queueTextMessage(db, 'me', contact(), 'two servers');
    const id = m.localId!;
    await applyOutboxStatus(db, { localId: id, status: 'sending', copies: { posted: 0, wanted: 2 } });
    expect(await db.messages.get(m.id)).toMatchObject({ status: 'sending', copies: { posted: 0, wanted: 2 } });
    await applyOutboxStatus(db, { localId: id, status: 'posted', copies: { posted: 1, wanted: 2 } });
    expect(statusText((await db.messages.get(m.id))!)).toBe('Posted to 1 of 2 servers');
    await applyOutboxStatus(db, { localId: id, status: 'posted', copies: { posted: 2, wanted: 2 } });
    expect(statusText((await db.messages.get(m.id))!)).toBe('Posted to 2 of 2 servers');
    // A late "sending" of a resumed message counts from 0 again: the record keeps what servers took.
    await applyOutboxStatus(db, { localId: id, status: 'sending', copies: { posted: 0, wanted: 2 } });
    expect(await db.messages.get(m.id)).toMatchObject({ status: 'posted', copies: { posted: 2, wanted: 2 } });
    // Delivered (the engine's signal) wins; a copy landing after it is still counted, the status stays.
    expect(await applyOutboxDelivered(db, id)).toBe(true);
    await applyOutboxStatus(db, { localId: id, status: 'posted', copies: { posted: 1, wanted: 3 } });
    expect(await db.messages.get(m.id)).toMatchObject({ status: 'delivered', copies: { posted: 1, wanted: 3 } });
    expect(statusText((await db.messages.get(m.id))!)).toBe('Delivered');
    expect(await applyOutboxDelivered(db, 'unknown')).toBe(false);

    // One copy wanted (a contact on one server) reads as before; no report at all too.
    expect(statusText({ status: 'posted', copies: { posted: 1, wanted: 1 } })).toBe('Sent');
    expect(statusText({ status: 'posted' })).toBe('Sent');
    expect(mergeCopies({ posted: 5, wanted: 2 }, { posted: 9, wanted: 2 })).toEqual({ posted: 2, wanted: 2 });
  });

  it('"delivered" from the engine never revives a cancelled message, and is idempotent', async () => {
    const m = await queueTextMessage(db, 'me', contact(), 'stopped');
    await db.messages.update(m.id, { status: 'cancelled' });
    expect(await applyOutboxDelivered(db, m.localId!)).toBe(true);
    expect((await db.messages.get(m.id))!.status).toBe('cancelled');
    const n = await queueTextMessage(db, 'me', contact(), 'arrived');
    await applyOutboxStatus(db, { localId: n.localId!, status: 'failed', error: 'timeout' });
    await applyOutboxDelivered(db, n.localId!);
    await applyOutboxDelivered(db, n.localId!);
    expect(await db.messages.get(n.id)).toMatchObject({ status: 'delivered', error: null });
  });

  it('sends a card’s prekey with the first message: the engine’s Init introduces us (alias and drop)', async () => {
    const prekey = { qrPrekey: 'c'.repeat(64), qrPrekeyExpiresDay: 30_000, caps: 1 };
    await db.contacts.put({ ...contact(), v1: prekey });
    const engine = accepting();
    const first = await queueTextMessage(db, 'me', { ...contact(), v1: prekey }, 'first', 100);
    await submitMessage(db, engine.bridge, first);
    expect((engine.calls[0]![1] as RequestOf<'messages/send'>).recipient).toEqual({
      publicKey: BOB,
      dropUrls: contact().dropUrls,
      v1: { qrPrekey: prekey.qrPrekey, qrPrekeyExpiresDay: prekey.qrPrekeyExpiresDay },
    });
    // Without a prekey on the stored card, none goes.
    await db.contacts.put(contact());
    const plain = await queueTextMessage(db, 'me', contact(), 'plain', 200);
    await submitMessage(db, engine.bridge, plain);
    expect((engine.calls[1]![1] as RequestOf<'messages/send'>).recipient.v1).toBeUndefined();
  });

  it('keeps the re-posting state the engine reports, and says when it ended without a receipt', async () => {
    const m = await queueTextMessage(db, 'me', contact(), 'far away');
    await applyOutboxStatus(db, { localId: m.localId!, status: 'posted', repost: { kind: 'scheduled', nextAt: 5, until: 9 } });
    expect(await db.messages.get(m.id)).toMatchObject({ status: 'posted', repost: { kind: 'scheduled', nextAt: 5, until: 9 } });
    expect(repostEnded((await db.messages.get(m.id))!)).toBeNull();
    await applyOutboxStatus(db, { localId: m.localId!, status: 'posted', repost: { kind: 'ended', why: 'timeLimit' } });
    expect(repostEnded((await db.messages.get(m.id))!)).toMatch(/No receipt came/);
    expect(repostEnded({ status: 'posted', repost: { kind: 'ended', why: 'storageLimit' } })).toMatch(/too many messages were waiting/);
    // The user's own Cancel, or a receipt, says enough.
    expect(repostEnded({ status: 'posted', repost: { kind: 'ended', why: 'cancelled' } })).toBeNull();
    expect(repostEnded({ status: 'delivered', repost: { kind: 'ended', why: 'timeLimit' } })).toBeNull();
  });
});
