/**
 * Microblog posts (`box_microblog`, shared/modules/microblog.ts): a short text an identity sends to
 * its contacts, one drop message per recipient. Incoming posts are stored by the inbox writer
 * (inboxChunk.ts); this file keeps our own posts (one `PostCopyRecord` per recipient with its
 * progress from `outbox/status` and receipts), the feed's queries and its unread count.
 */
import Dexie from 'dexie';
import type { OutboxStatus, Receipt, SendAccepted } from '../../../shared/ipc/contract.js';
import { MAX_POST_LENGTH } from '../../../shared/modules/microblog.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from './database.js';
import type { ContactRecord, MessageStatus, PostCopyRecord, PostRecord } from './records.js';
import { isAccepted } from './senderBounds.js';

export { MAX_POST_LENGTH };

/** The record id of a contact's post: one per author and post id, however many copies arrive. */
export function incomingPostId(identityId: string, authorKey: string, postId: string): string {
  return `in:${identityId}:${authorKey}:${postId}`;
}

export function ownPostId(identityId: string, postId: string): string {
  return `out:${identityId}:${postId}`;
}

/** Statuses after which a copy waits for nothing more from the engine. */
const FINISHED = new Set<MessageStatus>(['posted', 'delivered', 'failed', 'cancelled']);

/**
 * Stores an own post with a queued copy per recipient (accepted or verified contacts with a drop),
 * before the engine hears of it, so nothing is lost when the engine is away.
 */
export async function queuePost(
  db: DeaddropDatabase,
  identityId: string,
  text: string,
  recipients: readonly ContactRecord[],
  now = Date.now(),
): Promise<{ post: PostRecord; copies: PostCopyRecord[] }> {
  const clean = text.trim();
  if (clean.length === 0 || clean.length > MAX_POST_LENGTH) throw new Error(`A post has 1 to ${MAX_POST_LENGTH} characters.`);
  const postId = crypto.randomUUID();
  const post: PostRecord = { id: ownPostId(identityId, postId), identityId, authorKey: '', direction: 'out', postId, text: clean, sortAt: now, createdAt: now, unread: 0 };
  const copies = recipients
    .filter((c) => c.identityId === identityId && isAccepted(c.status) && c.dropUrls.length > 0)
    .map((c): PostCopyRecord => ({ localId: crypto.randomUUID(), postRowId: post.id, identityId, contactKey: c.publicKey, status: 'queued', error: null, ackIds: [], ackedIds: [] }));
  if (copies.length === 0) throw new Error('Choose at least one contact to post to.');
  await db.transaction('rw', db.posts, db.postCopies, async () => {
    await db.posts.add(post);
    await db.postCopies.bulkAdd(copies);
  });
  return { post, copies };
}

/** Stores a post and hands every copy to the engine. */
export async function publishPost(db: DeaddropDatabase, bridge: EngineBridge, identityId: string, text: string, recipients: readonly ContactRecord[]): Promise<PostRecord> {
  const { post, copies } = await queuePost(db, identityId, text, recipients);
  for (const copy of copies) await submitPostCopy(db, bridge, copy);
  return post;
}

/** Hands one copy to the engine (again: the local id makes it idempotent) and records what it answered. */
export async function submitPostCopy(db: DeaddropDatabase, bridge: EngineBridge, copy: PostCopyRecord): Promise<void> {
  const [post, contact] = await Promise.all([db.posts.get(copy.postRowId), db.contacts.get([copy.identityId, copy.contactKey])]);
  if (!post) return;
  if (!contact || contact.dropUrls.length === 0) {
    await setCopyStatus(db, copy.localId, 'failed', 'This contact has no drop address to send to.');
    return;
  }
  const result = await bridge.invoke('messages/send', {
    identityId: copy.identityId,
    localId: copy.localId,
    recipient: { publicKey: contact.publicKey, dropUrls: contact.dropUrls },
    content: { type: 'box_microblog', text: post.text, postId: post.postId },
    wantReceipt: true,
  });
  if (result.ok) {
    await recordAccepted(db, copy.localId, result.value);
    return;
  }
  // Transport trouble leaves the copy queued: it goes out when the engine is back (`resumePosts`).
  if (result.error.code === 'unavailable' || result.error.code === 'timeout' || result.error.code === 'locked') return;
  await setCopyStatus(db, copy.localId, 'failed', result.error.message);
}

/** Notes the copy's receipt ids; receipts that overtook the engine's answer are waiting in `pendingReceipts`. */
async function recordAccepted(db: DeaddropDatabase, localId: string, accepted: SendAccepted): Promise<void> {
  await db.transaction('rw', db.postCopies, db.pendingReceipts, async () => {
    const copy = await db.postCopies.get(localId);
    if (!copy) return;
    const early = await db.pendingReceipts
      .where('[identityId+acknowledgeId]')
      .anyOf(accepted.acknowledgeIds.map((ackId) => [copy.identityId, ackId]))
      .toArray();
    const ackedIds = early.filter((r) => r.senderKey === copy.contactKey).map((r) => r.acknowledgeId);
    const delivered = accepted.acknowledgeIds.length > 0 && accepted.acknowledgeIds.every((a) => ackedIds.includes(a));
    await db.postCopies.update(localId, { ackIds: accepted.acknowledgeIds, ackedIds, ...(delivered ? { status: 'delivered' as const, error: null } : {}) });
  });
}

/** Applies an `outbox/status` event if it is about a post's copy; false when it is not one. */
export async function applyPostStatus(db: DeaddropDatabase, event: { localId: string; status: OutboxStatus; error?: string }): Promise<boolean> {
  return setCopyStatus(db, event.localId, event.status, event.error ?? null);
}

/** `outbox/delivered` for a copy of one of our posts; false when the local id is no post copy. */
export async function applyPostDelivered(db: DeaddropDatabase, localId: string): Promise<boolean> {
  return setCopyStatus(db, localId, 'delivered', null);
}

async function setCopyStatus(db: DeaddropDatabase, localId: string, status: MessageStatus, error: string | null): Promise<boolean> {
  return db.transaction('rw', db.postCopies, async () => {
    const copy = await db.postCopies.get(localId);
    if (!copy) return false;
    // Never back from delivered (a late `posted`), nor out of cancelled.
    if (copy.status === 'delivered' || copy.status === 'cancelled') return true;
    await db.postCopies.update(localId, { status, error: status === 'failed' ? (error ?? 'Sending failed.') : null });
    return true;
  });
}

/**
 * Marks copies delivered by the receipts of their recipients (only the recipient can confirm a copy).
 * Returns the receipts that confirmed no copy. Call inside a transaction over postCopies, or outside any.
 */
export async function applyPostReceipts(db: DeaddropDatabase, receipts: readonly Receipt[]): Promise<Receipt[]> {
  const unmatched: Receipt[] = [];
  for (const receipt of receipts) {
    const copies = (await db.postCopies.where('ackIds').equals(receipt.acknowledgeId).toArray()).filter(
      (c) => c.identityId === receipt.identityId && c.contactKey === receipt.senderKey,
    );
    if (copies.length === 0) {
      unmatched.push(receipt);
      continue;
    }
    for (const copy of copies) {
      const ackedIds = copy.ackedIds.includes(receipt.acknowledgeId) ? copy.ackedIds : [...copy.ackedIds, receipt.acknowledgeId];
      const complete = copy.ackIds.every((id) => ackedIds.includes(id));
      await db.postCopies.update(copy.localId, { ackedIds, ...(complete ? { status: 'delivered' as const, error: null } : {}) });
    }
  }
  return unmatched;
}

/** Hands every copy the engine has not finished to it again (after a start or reconnect). */
export async function resumePosts(db: DeaddropDatabase, bridge: EngineBridge): Promise<number> {
  const unfinished = await db.postCopies.where('status').anyOf(['queued', 'sending']).toArray();
  for (const copy of unfinished) await submitPostCopy(db, bridge, copy);
  return unfinished.length;
}

/**
 * Tries the copies of a post that have not arrived yet: failed ones and ones the engine never took
 * (it was away) go to it again, ones it is still sending are tried now rather than at their scheduled
 * time (`messages/retryNow`).
 */
export async function retryPost(db: DeaddropDatabase, bridge: EngineBridge, postRowId: string): Promise<void> {
  const copies = await db.postCopies.where('postRowId').equals(postRowId).toArray();
  for (const copy of copies) {
    if (copy.status === 'failed') {
      await db.postCopies.update(copy.localId, { status: 'queued', error: null });
      await submitPostCopy(db, bridge, { ...copy, status: 'queued', error: null });
    } else if (copy.status === 'queued') {
      await submitPostCopy(db, bridge, copy);
    } else if (!FINISHED.has(copy.status)) {
      await bridge.invoke('messages/retryNow', { localId: copy.localId });
    }
  }
}

/** How far one own post got: per recipient, `posted` includes delivered ones. */
export interface PostProgress {
  total: number;
  posted: number;
  delivered: number;
  waiting: number;
  failed: number;
}

export function progressOf(copies: readonly Pick<PostCopyRecord, 'status'>[]): PostProgress {
  const progress: PostProgress = { total: copies.length, posted: 0, delivered: 0, waiting: 0, failed: 0 };
  for (const { status } of copies) {
    if (status === 'posted' || status === 'delivered') progress.posted++;
    if (status === 'delivered') progress.delivered++;
    if (status === 'queued' || status === 'sending') progress.waiting++;
    if (status === 'failed') progress.failed++;
  }
  return progress;
}

/** "Posted to 12 of 15 contacts; 3 waiting for their server", with deliveries and failures when there are any. */
export function progressText(p: PostProgress): string {
  const contacts = p.total === 1 ? 'contact' : 'contacts';
  const parts = [`Posted to ${p.posted} of ${p.total} ${contacts}`];
  if (p.delivered > 0) parts.push(`${p.delivered} received it`);
  if (p.waiting > 0) parts.push(`${p.waiting} waiting for their server`);
  if (p.failed > 0) parts.push(`${p.failed} failed`);
  return parts.join('; ');
}

/** A post as the feed lists it. */
export interface FeedItem {
  post: PostRecord;
  /** The author, for a contact's post. */
  author: ContactRecord | null;
  /** The copies, for an own post. */
  copies: PostCopyRecord[];
}

const byIdentity = (identityId: string) => [
  [identityId, Dexie.minKey],
  [identityId, Dexie.maxKey],
] as const;

/**
 * The identity's feed, newest first: its own posts and those of accepted and verified contacts (a
 * contact ignored or blocked since keeps their posts stored, unlisted). At most `limit` posts.
 */
export async function listFeed(db: DeaddropDatabase, identityId: string, limit = 200): Promise<FeedItem[]> {
  const [from, to] = byIdentity(identityId);
  const items: FeedItem[] = [];
  const authors = new Map<string, ContactRecord | undefined>();
  await db.posts
    .where('[identityId+sortAt]')
    .between(from, to)
    .reverse()
    .until(() => items.length >= limit)
    .each((post) => {
      items.push({ post, author: null, copies: [] });
    });
  const keys = [...new Set(items.filter((i) => i.post.direction === 'in').map((i) => i.post.authorKey))];
  const contacts = await db.contacts.bulkGet(keys.map((k): [string, string] => [identityId, k]));
  keys.forEach((k, i) => authors.set(k, contacts[i]));
  const own = items.filter((i) => i.post.direction === 'out').map((i) => i.post.id);
  const copies = own.length > 0 ? await db.postCopies.where('postRowId').anyOf(own).toArray() : [];
  const listed: FeedItem[] = [];
  for (const item of items) {
    if (item.post.direction === 'out') {
      listed.push({ ...item, copies: copies.filter((c) => c.postRowId === item.post.id) });
      continue;
    }
    const author = authors.get(item.post.authorKey);
    if (author && isAccepted(author.status)) listed.push({ ...item, author });
  }
  return listed;
}

/** A contact's posts to this identity, newest first. */
export async function postsOf(db: DeaddropDatabase, identityId: string, authorKey: string, limit = 50): Promise<PostRecord[]> {
  return db.posts
    .where('[identityId+authorKey+sortAt]')
    .between([identityId, authorKey, Dexie.minKey], [identityId, authorKey, Dexie.maxKey])
    .reverse()
    .limit(limit)
    .toArray();
}

/** Unread posts of accepted and verified contacts to one identity (the Posts entry's badge). */
export async function unreadPostCount(db: DeaddropDatabase, identityId: string): Promise<number> {
  const unread = await db.posts.where('[identityId+unread]').equals([identityId, 1]).toArray();
  if (unread.length === 0) return 0;
  const contacts = await db.contacts.bulkGet(unread.map((p): [string, string] => [identityId, p.authorKey]));
  return contacts.filter((author) => author !== undefined && isAccepted(author.status)).length;
}

/** The feed was seen: every post of the identity is read. */
export async function markPostsRead(db: DeaddropDatabase, identityId: string): Promise<number> {
  return db.posts.where('[identityId+unread]').equals([identityId, 1]).modify({ unread: 0 });
}

/** Removes an identity's posts and their copies (the identity was deleted). */
export async function forgetPosts(db: DeaddropDatabase, identityId: string): Promise<void> {
  const [from, to] = byIdentity(identityId);
  await db.posts.where('[identityId+sortAt]').between(from, to).delete();
  await db.postCopies.where('identityId').equals(identityId).delete();
}
