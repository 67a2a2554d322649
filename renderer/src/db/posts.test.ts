import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, EventMap, IncomingMessage, Receipt, RequestOf } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import { withNewlyStored } from '../desktop/newMessageNotifications.js';
import type { DeaddropDatabase } from './database.js';
import { writeInboxBatch } from './inboxWriter.js';
import {
  applyPostStatus, incomingPostId, listFeed, markPostsRead, postsOf, progressOf, progressText, publishPost, resumePosts, retryPost, unreadPostCount,
} from './posts.js';
import type { ContactRecord, ContactStatus } from './records.js';
import { deleteTestDatabases, openTestDatabase } from './testDatabase.js';

const key = (c: string) => c.repeat(64);

function contact(publicKey: string, status: ContactStatus = 'accepted', dropUrls = [`https://${publicKey.slice(0, 3)}.example.org/d`]): ContactRecord {
  return { identityId: 'me', publicKey, alias: `C-${publicKey.slice(0, 1)}`, aliasLower: '', dropUrls, offeredDropUrls: [], status, createdAt: 1 };
}

function post(senderKey: string, dedupeKey: string, postId: string, text: string, sentAt = 1000): IncomingMessage {
  return {
    dedupeKey, identityId: 'me', senderKey, type: 'box_microblog', payload: JSON.stringify({ msg: text, post_id: postId }),
    content: { type: 'box_microblog', msg: text, postId }, text: null, share: null, part: null, acknowledgeId: `ack-${dedupeKey}`, meta: null,
    sentAt, receivedAt: sentAt + 5, dropUrl: 'http://127.0.0.1:1/mine',
  };
}

const batch = (batchId: string, messages: IncomingMessage[], receipts: Receipt[] = []): EventMap['inbox/batch'] => ({ batchId, messages, receipts });

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('posts');
});
afterEach(deleteTestDatabases);

describe('incoming posts', () => {
  it('are stored in posts, once per author and post id, never in a conversation, with a receipt for each copy', async () => {
    await db.contacts.put(contact(key('a')));
    const first = batch('b1', [post(key('a'), 'm1', 'p1', 'Hello all'), post(key('a'), 'm2', 'p1', 'Hello all')]);
    const { result, stored } = await withNewlyStored(db, first, () => writeInboxBatch(db, first));
    expect(result).toMatchObject({ inserted: 1, duplicates: 1, dropped: 0 });
    expect(result.owedReceipts.map((r) => r.dedupeKey)).toEqual(['m1', 'm2']);
    expect(await db.posts.toArray()).toEqual([
      { id: incomingPostId('me', key('a'), 'p1'), identityId: 'me', authorKey: key('a'), direction: 'in', postId: 'p1', text: 'Hello all', sortAt: 1000, createdAt: 1005, unread: 1 },
    ]);
    expect(await db.messages.count()).toBe(0);
    expect(await db.conversations.count()).toBe(0);
    // Nothing a notification would show.
    expect(await db.messages.bulkGet(stored)).toEqual([undefined]);
    // The same copy again, or another copy later: still one post.
    expect(await writeInboxBatch(db, first)).toMatchObject({ inserted: 0, duplicates: 2 });
    expect(await writeInboxBatch(db, batch('b2', [post(key('a'), 'm3', 'p1', 'Hello all')]))).toMatchObject({ inserted: 0, duplicates: 1 });
    expect(await db.posts.count()).toBe(1);
    // Another author's post with the same id is another post.
    await db.contacts.put(contact(key('b')));
    await writeInboxBatch(db, batch('b3', [post(key('b'), 'm4', 'p1', 'Mine too')]));
    expect(await db.posts.count()).toBe(2);
  });

  it('from strangers, ignored and blocked senders are dropped: no request, nothing stored, no receipt', async () => {
    await db.contacts.bulkPut([contact(key('i'), 'ignored'), contact(key('b'), 'blocked'), contact(key('u'), 'unknown')]);
    const summary = await writeInboxBatch(db, batch('b1', [post(key('s'), 's1', 'p', 'x'), post(key('i'), 'i1', 'p', 'x'), post(key('b'), 'b1', 'p', 'x'), post(key('u'), 'u1', 'p', 'x')]));
    expect(summary).toMatchObject({ inserted: 0, dropped: 4, owedReceipts: [] });
    expect(await db.posts.count()).toBe(0);
    expect(await db.contacts.get(['me', key('s')])).toBeUndefined();
    expect(await db.messages.count()).toBe(0);
  });

  it('are counted unread per identity until the feed is seen; a blocked author’s are not counted or listed', async () => {
    await db.contacts.bulkPut([contact(key('a')), contact(key('v'), 'verified'), contact(key('b'))]);
    await writeInboxBatch(db, batch('b1', [post(key('a'), 'a1', 'p1', 'one', 1000), post(key('v'), 'v1', 'p2', 'two', 3000), post(key('b'), 'b1', 'p3', 'three', 2000)]));
    expect(await unreadPostCount(db, 'me')).toBe(3);
    expect(await unreadPostCount(db, 'other')).toBe(0);
    await db.contacts.update(['me', key('b')], { status: 'blocked' });
    expect(await unreadPostCount(db, 'me')).toBe(2);
    expect((await listFeed(db, 'me')).map((item) => [item.post.text, item.author?.alias])).toEqual([
      ['two', 'C-v'],
      ['one', 'C-a'],
    ]);
    expect(await markPostsRead(db, 'me')).toBe(3);
    expect(await unreadPostCount(db, 'me')).toBe(0);
    // The contact's page lists theirs.
    expect((await postsOf(db, 'me', key('a'))).map((p) => p.text)).toEqual(['one']);
  });
});

/** The engine as the sender sees it: records each call, answers `messages/send` as told. */
function scriptedEngine(answer: (request: RequestOf<'messages/send'>) => Result<unknown>) {
  const calls: Array<[Channel, unknown]> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: unknown) {
      calls.push([channel, request]);
      if (channel === 'messages/retryNow') return ok({ retrying: true });
      return channel === 'messages/send' ? answer(request as RequestOf<'messages/send'>) : ok(null);
    },
  } as unknown as EngineBridge;
  return { bridge, calls };
}

const accepting = () => scriptedEngine((r) => ok({ localId: r.localId, acknowledgeIds: [`${r.localId}-ack`], parts: 1 }));
const sends = (calls: Array<[Channel, unknown]>) => calls.filter(([c]) => c === 'messages/send').map(([, r]) => r as RequestOf<'messages/send'>);

describe('own posts', () => {
  it('go to each chosen contact as a copy of one post, with a receipt asked for', async () => {
    const contacts = [contact(key('a')), contact(key('b'), 'verified'), contact(key('c'), 'blocked'), contact(key('d'), 'accepted', [])];
    await db.contacts.bulkPut(contacts);
    const engine = accepting();
    const stored = await publishPost(db, engine.bridge, 'me', '  Out for lunch  ', contacts);
    expect(stored).toMatchObject({ direction: 'out', authorKey: '', text: 'Out for lunch', unread: 0 });
    const requests = sends(engine.calls);
    expect(requests.map((r) => r.recipient.publicKey)).toEqual([key('a'), key('b')]);
    for (const r of requests) expect(r).toMatchObject({ identityId: 'me', content: { type: 'box_microblog', text: 'Out for lunch', postId: stored.postId }, wantReceipt: true });
    expect(new Set(requests.map((r) => r.localId)).size).toBe(2);
    const copies = await db.postCopies.toArray();
    expect(copies.map((c) => [c.contactKey, c.status, c.ackIds])).toEqual(
      expect.arrayContaining([
        [key('a'), 'queued', [`${requests[0]!.localId}-ack`]],
        [key('b'), 'queued', [`${requests[1]!.localId}-ack`]],
      ]),
    );
    // Own posts are in the feed with their copies; they are never unread.
    const feed = await listFeed(db, 'me');
    expect(feed).toHaveLength(1);
    expect(feed[0]!.copies).toHaveLength(2);
    expect(await unreadPostCount(db, 'me')).toBe(0);
  });

  it('show honest progress from outbox statuses and receipts', async () => {
    const contacts = [key('a'), key('b'), key('c')].map((k) => contact(k));
    await db.contacts.bulkPut(contacts);
    const engine = accepting();
    const stored = await publishPost(db, engine.bridge, 'me', 'Hi', contacts);
    const [a, b] = sends(engine.calls);
    const progress = async () => progressText(progressOf(await db.postCopies.where('postRowId').equals(stored.id).toArray()));
    expect(await progress()).toBe('Posted to 0 of 3 contacts; 3 waiting for their server');
    expect(await applyPostStatus(db, { localId: a!.localId, status: 'posted' })).toBe(true);
    expect(await applyPostStatus(db, { localId: 'not-a-copy', status: 'posted' })).toBe(false);
    await applyPostStatus(db, { localId: b!.localId, status: 'sending' });
    expect(await progress()).toBe('Posted to 1 of 3 contacts; 2 waiting for their server');
    // B's receipt: delivered (which is posted too); a receipt from someone else for A's id is ignored.
    await writeInboxBatch(db, batch('r1', [], [
      { identityId: 'me', senderKey: key('b'), acknowledgeId: `${b!.localId}-ack`, receivedAt: 1 },
      { identityId: 'me', senderKey: key('c'), acknowledgeId: `${a!.localId}-ack`, receivedAt: 1 },
    ]));
    expect(await progress()).toBe('Posted to 2 of 3 contacts; 1 received it; 1 waiting for their server');
    // A late `posted` never takes delivered back.
    await applyPostStatus(db, { localId: b!.localId, status: 'posted' });
    expect(await progress()).toBe('Posted to 2 of 3 contacts; 1 received it; 1 waiting for their server');
  });

  it('wait queued while the engine is away, go out on resume; a failed copy can be retried', async () => {
    const contacts = [contact(key('a')), contact(key('b'))];
    await db.contacts.bulkPut(contacts);
    const away = scriptedEngine(() => fail('unavailable', 'The engine is not running.'));
    const stored = await publishPost(db, away.bridge, 'me', 'Later', contacts);
    expect((await db.postCopies.toArray()).map((c) => c.status)).toEqual(['queued', 'queued']);
    const refusing = scriptedEngine((r) => (r.recipient.publicKey === key('b') ? fail('invalid_request', 'No.') : ok({ localId: r.localId, acknowledgeIds: [], parts: 1 })));
    expect(await resumePosts(db, refusing.bridge)).toBe(2);
    const statuses = async () => Object.fromEntries((await db.postCopies.toArray()).map((c) => [c.contactKey, [c.status, c.error]]));
    expect(await statuses()).toEqual({ [key('a')]: ['queued', null], [key('b')]: ['failed', 'No.'] });
    const aCopy = (await db.postCopies.toArray()).find((c) => c.contactKey === key('a'))!;
    await applyPostStatus(db, { localId: aCopy.localId, status: 'sending' });
    const back = accepting();
    await retryPost(db, back.bridge, stored.id);
    // The failed copy goes to the engine again under its own local id; the one it is sending is tried now.
    expect(back.calls.map(([channel, request]) => [channel, (request as { localId: string }).localId === aCopy.localId]).sort()).toEqual([
      ['messages/retryNow', true],
      ['messages/send', false],
    ]);
    expect(await statuses()).toEqual({ [key('a')]: ['sending', null], [key('b')]: ['queued', null] });
    // A copy the engine never took (it was away) is handed to it again.
    await applyPostStatus(db, { localId: aCopy.localId, status: 'queued' });
    const again = accepting();
    await retryPost(db, again.bridge, stored.id);
    expect(again.calls.map(([channel]) => channel)).toEqual(['messages/send', 'messages/send']);
  });

  it('refuse an empty or overlong text, and a post without recipients', async () => {
    const engine = accepting();
    await db.contacts.put(contact(key('a')));
    await expect(publishPost(db, engine.bridge, 'me', '   ', [contact(key('a'))])).rejects.toThrow('1 to 500');
    await expect(publishPost(db, engine.bridge, 'me', 'x'.repeat(501), [contact(key('a'))])).rejects.toThrow('1 to 500');
    await expect(publishPost(db, engine.bridge, 'me', 'x', [contact(key('a'), 'blocked')])).rejects.toThrow('at least one contact');
    expect(await db.posts.count()).toBe(0);
  });
});
