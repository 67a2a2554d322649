/**
 * Stores one slice of an `inbox/batch` in one transaction: everything it needs is read first in a
 * few bulk reads, every message is then placed or dropped in memory against the sender bounds
 * (`senderBounds.ts`), and what is kept is written in a few bulk writes. So the work grows with
 * what is stored, not with what a flood sends, and nothing a blocked sender sends is written.
 *
 * Where a message goes is its module's choice (modules/registry.ts): a chat row, the sender's contact
 * record (contact updates, with a line in the conversation), the posts table, or the shares table
 * (announcements of shared folders).
 */
import type { IncomingMessage, OwedReceipt } from '../../../shared/ipc/contract.js';
import type { ContactUpdateContent } from '../../../shared/modules/contactUpdate.js';
import type { MicroblogContent } from '../../../shared/modules/microblog.js';
import { MAX_TEXT_PARTS } from '../../../shared/protocol/message.js';
import { type AppliedUpdate, applyContactUpdate, applyMetaData, eventRecord } from '../modules/contactUpdate.js';
import { storageOf } from '../modules/registry.js';
import { type ShareNotice, type ShareRecord, applyShareNotice, receivedShareRowId } from '../shares/shareRecords.js';
import type { DeaddropDatabase } from './database.js';
import { cleanDropUrls, contactFromHello, helloDropUrls, incomingRecord, incomingSortAt, previewOf } from './incomingMessage.js';
import { type PartGroup, addPiece, groupMessageId, hasPiece, loadGroups, newGroup, settleGroup } from './longTextParts.js';
import { incomingPostId } from './posts.js';
import type { ContactRecord, ConversationRecord, MessageRecord, PostRecord, SeenRecord, TextPartRecord } from './records.js';
import {
  type DroppedKeys, MAX_OPEN_REQUESTS, MAX_REQUEST_MESSAGES, isAccepted, maxPendingParts, unstoredRequestsKey,
} from './senderBounds.js';

/** The engine takes this many drop URLs per receipt (its `inbox/ack` schema). */
const MAX_RECEIPT_URLS = 16;
const NO_RECEIPT = '0';
const RECEIPT_TYPE = 'box_ack';

export interface ChunkSummary {
  inserted: number;
  duplicates: number;
  /** Not stored: from blocked senders, beyond a bound, or pieces of an oversized long text. */
  dropped: number;
  owedReceipts: OwedReceipt[];
}

/** One sender's state while a slice is written. */
interface Sender {
  contact: ContactRecord | undefined;
  contactChanged: boolean;
  conversation: ConversationRecord | undefined;
  /** Rows of this sender written by this slice (new or changed). */
  touched: Map<string, MessageRecord>;
  newRows: number;
  /** Lines about the contact (kind `event`) among `touched`: counted in the conversation, never unread. */
  eventRows: number;
  /** Pieces of unfinished long texts stored for this sender, including this slice's. */
  pendingParts: number;
  unstored: number;
}

/**
 * Where a message went: the chat row it is stored in, `absorbed` when it went elsewhere (applied to
 * the contact, or a post), or why it is not stored.
 */
type Placement = MessageRecord | 'absorbed' | 'duplicate' | 'dropped';

/** One key for a pair of ids (identity and sender, or identity and dedupe key). */
const pairKey = (a: string, b: string) => `${a}\n${b}`;

export class InboxChunkWriter {
  private readonly senders = new Map<string, Sender>();
  private readonly seenBefore = new Set<string>();
  private readonly newSeen = new Map<string, SeenRecord>();
  private groups = new Map<string, PartGroup>();
  private readonly touchedGroups = new Set<PartGroup>();
  private readonly openRequests = new Map<string, number>();
  private readonly unstoredRequests = new Map<string, number>();
  /** Posts stored before this slice (by record id), and those it stores. */
  private readonly postsBefore = new Set<string>();
  private readonly newPosts = new Map<string, PostRecord>();
  /** Received shares as stored before this slice (by record id), and as this slice leaves them. */
  private readonly sharesBefore = new Map<string, ShareRecord>();
  private readonly newShares = new Map<string, ShareRecord>();
  /** The contact's drop URLs as they were when a message came, where its meta data changed them since. */
  private readonly receiptUrls = new Map<string, readonly string[]>();
  /** Messages this slice stored, per drop they came from (duplicates of a batch delivered again are not). */
  readonly storedPerDrop = new Map<string, number>();

  constructor(
    private readonly db: DeaddropDatabase,
    private readonly summary: ChunkSummary,
    private readonly droppedKeys: DroppedKeys,
  ) {}

  /** Call inside a transaction over messages, seen, contacts, conversations, textParts, settings, posts and shares. */
  async write(messages: readonly IncomingMessage[]): Promise<void> {
    await this.load(messages);
    for (const message of messages) this.recordOutcome(message, this.place(message));
    await this.flush();
  }

  private async load(messages: readonly IncomingMessage[]): Promise<void> {
    const { db } = this;
    const seen = await db.seen.bulkGet(messages.map((m) => [m.identityId, m.dedupeKey] as [string, string]));
    seen.forEach((record, i) => record && this.seenBefore.add(pairKey(messages[i]!.identityId, messages[i]!.dedupeKey)));
    const keys = new Map<string, [string, string]>();
    for (const m of messages) keys.set(pairKey(m.identityId, m.senderKey), [m.identityId, m.senderKey]);
    const senderKeys = [...keys.values()];
    const contacts = await db.contacts.bulkGet(senderKeys);
    const conversations = await db.conversations.bulkGet(senderKeys);
    senderKeys.forEach(([identityId, senderKey], i) => {
      const sender: Sender = {
        contact: contacts[i], contactChanged: false, conversation: conversations[i], touched: new Map(), newRows: 0, eventRows: 0, pendingParts: 0, unstored: 0,
      };
      this.senders.set(pairKey(identityId, senderKey), sender);
    });

    const wanted = messages.filter((m) => !this.seenBefore.has(pairKey(m.identityId, m.dedupeKey)) && this.sender(m).contact?.status !== 'blocked');
    const withParts = wanted.filter((m) => m.part && m.part.count > 1 && m.part.count <= MAX_TEXT_PARTS && isChat(m));
    const postIds = wanted.flatMap((m) => {
      const storage = storageOf(m.content);
      return storage.table === 'posts' ? [incomingPostId(m.identityId, m.senderKey, storage.post.postId)] : [];
    });
    if (postIds.length > 0) (await db.posts.bulkGet(postIds)).forEach((post) => post && this.postsBefore.add(post.id));
    const shareIds = wanted.flatMap((m) => {
      const storage = storageOf(m.content);
      return storage.table === 'shares' ? [receivedShareRowId(m.identityId, m.senderKey, storage.notice.share.id)] : [];
    });
    if (shareIds.length > 0) (await db.shares.bulkGet([...new Set(shareIds)])).forEach((share) => share && this.sharesBefore.set(share.id, share));
    for (const id of new Set(withParts.map((m) => pairKey(m.identityId, m.senderKey)))) {
      this.senders.get(id)!.pendingParts = await db.textParts.where('[identityId+contactKey]').equals(keys.get(id)!).count();
    }
    for (const identityId of new Set(wanted.filter((m) => !this.sender(m).contact).map((m) => m.identityId))) {
      this.openRequests.set(identityId, await db.contacts.where('[identityId+status]').equals([identityId, 'unknown']).count());
    }
    this.groups = await loadGroups(db, [...new Set(withParts.map(groupMessageId))]);
  }

  private sender(message: IncomingMessage): Sender {
    return this.senders.get(pairKey(message.identityId, message.senderKey))!;
  }

  private place(message: IncomingMessage): Placement {
    const key = pairKey(message.identityId, message.dedupeKey);
    if (this.seenBefore.has(key) || this.newSeen.has(key)) return 'duplicate';
    const sender = this.sender(message);
    if (sender.contact?.status === 'blocked') return 'dropped';
    const storage = storageOf(message.content);
    if (storage.table === 'contacts') return this.placeUpdate(message, storage.update, sender);
    if (storage.table === 'posts') return this.placePost(message, storage.post, sender);
    if (storage.table === 'shares') return this.placeShare(message, storage.notice, sender);
    if (!sender.contact && !this.openRequest(message, sender)) return this.drop(message, null);

    // `part` is the piece marker of a chat text as the engine decoded it (content.part, with the group as `groupId`).
    const placed = message.part && message.part.count > 1 ? this.placePiece(message, sender) : this.placeSingle(message, sender);
    if (typeof placed === 'string') return placed;
    this.newSeen.set(key, { identityId: message.identityId, dedupeKey: message.dedupeKey, messageId: placed.id });
    sender.touched.set(placed.id, placed);
    this.takeOffer(message, sender);
    this.takeMetaData(message, sender);
    return placed;
  }

  /**
   * A contact update changes an accepted or verified contact (a line says what, unless it was stale or
   * changed nothing visible); a request's may only renew the drops it offers; a stranger's or an
   * ignored sender's is not applied, and opens no request.
   */
  private placeUpdate(message: IncomingMessage, update: ContactUpdateContent, sender: Sender): Placement {
    const contact = sender.contact;
    if (contact?.status === 'unknown') {
      const offered = cleanDropUrls(update.dropUrls);
      if (offered.length > 0 && offered.join(' ') !== (contact.offeredDropUrls ?? []).join(' ')) {
        sender.contact = { ...contact, offeredDropUrls: offered };
        sender.contactChanged = true;
      }
      return this.absorbed(message, 'update');
    }
    if (!contact || contact.status === 'ignored') return 'dropped';
    this.applyUpdate(message, sender, applyContactUpdate(contact, update), '');
    return this.absorbed(message, 'update');
  }

  /**
   * What the meta data of a message from an accepted or verified contact announces (original Qabel
   * clients' way). The receipt this message asks for still goes to the drops known when it came.
   */
  private takeMetaData(message: IncomingMessage, sender: Sender): void {
    const contact = sender.contact!;
    this.receiptUrls.set(pairKey(message.identityId, message.dedupeKey), contact.dropUrls);
    this.applyUpdate(message, sender, applyMetaData(contact, message.meta, message.sentAt), ':meta');
  }

  private applyUpdate(message: IncomingMessage, sender: Sender, applied: AppliedUpdate | null, idSuffix: string): void {
    if (!applied) return;
    sender.contact = applied.contact;
    sender.contactChanged = true;
    if (applied.lines.length === 0) return;
    const id = `in:${message.identityId}:${message.dedupeKey}${idSuffix}`;
    if (sender.touched.has(id)) return;
    sender.touched.set(id, eventRecord(id, message.identityId, message.senderKey, 'in', applied.lines, incomingSortAt(message)));
    sender.eventRows++;
  }

  /**
   * A post of an accepted or verified contact goes to the posts table, once per author and post id
   * (each recipient gets a copy, and a copy may come twice). A stranger's or an ignored sender's post is
   * dropped: it opens no request and is shown nowhere.
   */
  private placePost(message: IncomingMessage, post: MicroblogContent, sender: Sender): Placement {
    if (!sender.contact || !isAccepted(sender.contact.status)) return 'dropped';
    const id = incomingPostId(message.identityId, message.senderKey, post.postId);
    this.takeMetaData(message, sender);
    if (this.postsBefore.has(id) || this.newPosts.has(id)) {
      this.newSeen.set(pairKey(message.identityId, message.dedupeKey), { identityId: message.identityId, dedupeKey: message.dedupeKey, messageId: `post:${id}` });
      return 'duplicate';
    }
    this.newPosts.set(id, {
      id,
      identityId: message.identityId,
      authorKey: message.senderKey,
      direction: 'in',
      postId: post.postId,
      text: post.msg,
      sortAt: incomingSortAt(message),
      createdAt: message.receivedAt,
      unread: 1,
    });
    return this.absorbed(message, `post:${id}`);
  }

  /**
   * An announcement of a shared folder of an accepted or verified contact updates the share it names
   * (shareRecords.ts `applyShareNotice`: a stale revision changes nothing, a removal is final); never a
   * chat row. A stranger's or an ignored sender's is dropped, like their posts: it opens no request.
   */
  private placeShare(message: IncomingMessage, notice: ShareNotice, sender: Sender): Placement {
    if (!sender.contact || !isAccepted(sender.contact.status)) return 'dropped';
    this.takeMetaData(message, sender);
    const id = receivedShareRowId(message.identityId, message.senderKey, notice.share.id);
    const next = applyShareNotice(this.newShares.get(id) ?? this.sharesBefore.get(id), notice, message.identityId, message.senderKey, sender.contact.status, message.receivedAt);
    if (next) this.newShares.set(id, next);
    return this.absorbed(message, `share:${id}`);
  }

  /**
   * Marks a message handled outside the chat as seen, so a batch delivered again changes nothing. The
   * seen record names no chat row (so no notification is raised for it).
   */
  private absorbed(message: IncomingMessage, what: string): 'absorbed' {
    const messageId = what === 'update' ? `update:${message.identityId}:${message.dedupeKey}` : what;
    this.newSeen.set(pairKey(message.identityId, message.dedupeKey), { identityId: message.identityId, dedupeKey: message.dedupeKey, messageId });
    return 'absorbed';
  }

  /** A stranger's first message opens a request, unless the identity has too many open already. */
  private openRequest(message: IncomingMessage, sender: Sender): boolean {
    const open = this.openRequests.get(message.identityId) ?? 0;
    if (open >= MAX_OPEN_REQUESTS) return false;
    this.openRequests.set(message.identityId, open + 1);
    sender.contact = contactFromHello(message.identityId, message.senderKey, message.meta, message.receivedAt);
    sender.contactChanged = true;
    return true;
  }

  /** A newer hello may name another drop: offered again, never taken without the user. */
  private takeOffer(message: IncomingMessage, sender: Sender): void {
    const offered = helloDropUrls(message.meta);
    const contact = sender.contact!;
    if (offered.length > 0 && offered.join(' ') !== (contact.offeredDropUrls ?? []).join(' ')) {
      sender.contact = { ...contact, offeredDropUrls: offered };
      sender.contactChanged = true;
    }
  }

  /** Whether a sender the user has not accepted may start one more message. */
  private roomForMessage(sender: Sender): boolean {
    return isAccepted(sender.contact!.status) || (sender.conversation?.messageCount ?? 0) + sender.newRows < MAX_REQUEST_MESSAGES;
  }

  private placeSingle(message: IncomingMessage, sender: Sender): Placement {
    if (!this.roomForMessage(sender)) return this.drop(message, sender);
    sender.newRows++;
    return incomingRecord(`in:${message.identityId}:${message.dedupeKey}`, message);
  }

  private placePiece(message: IncomingMessage, sender: Sender): Placement {
    const part = message.part!;
    if (part.count > MAX_TEXT_PARTS) return this.drop(message, sender);
    const id = groupMessageId(message);
    let group = this.groups.get(id);
    // Pieces of one text agree on the count; one that does not fit the first is not ours to show.
    const count = group?.row.parts.count ?? part.count;
    if (part.index >= count) return this.drop(message, sender);
    if (group && hasPiece(group, part.index)) return 'duplicate';
    const before = group?.row.parts.stored ?? 0;
    const completes = before + 1 >= count;
    if (!completes && sender.pendingParts + 1 > maxPendingParts(sender.contact!.status)) return this.drop(message, sender);
    if (!group) {
      if (!this.roomForMessage(sender)) return this.drop(message, sender);
      group = newGroup(id, message);
      this.groups.set(id, group);
      sender.newRows++;
    }
    addPiece(group, part.index, message.text ?? '');
    sender.pendingParts += completes ? -before : 1;
    const { row } = group;
    row.sortAt = Math.min(row.sortAt, incomingSortAt(message));
    row.read = false;
    this.touchedGroups.add(group);
    return row;
  }

  /**
   * Counts a message that is not stored, on its sender or on the identity for a request not opened;
   * once, also when its batch comes again.
   */
  private drop(message: IncomingMessage, sender: Sender | null): 'dropped' {
    if (!this.droppedKeys.remember(message.identityId, message.dedupeKey)) return 'dropped';
    if (sender) sender.unstored++;
    else this.unstoredRequests.set(message.identityId, (this.unstoredRequests.get(message.identityId) ?? 0) + 1);
    return 'dropped';
  }

  /**
   * Counts the outcome and settles the receipt asked for: receipts go only to accepted contacts, at the
   * drop URLs the user accepted; a request's are held with the message, answered if the user accepts.
   * Strangers, ignored and blocked senders learn nothing.
   */
  private recordOutcome(message: IncomingMessage, placed: Placement): void {
    if (placed === 'dropped') this.summary.dropped++;
    else if (placed === 'duplicate') this.summary.duplicates++;
    else {
      this.summary.inserted++;
      this.storedPerDrop.set(message.dropUrl, (this.storedPerDrop.get(message.dropUrl) ?? 0) + 1);
    }
    const contact = this.sender(message).contact;
    if (placed === 'dropped' || !contact || message.acknowledgeId === NO_RECEIPT || message.type === RECEIPT_TYPE) return;
    if (isAccepted(contact.status)) {
      const dropUrls = this.receiptUrls.get(pairKey(message.identityId, message.dedupeKey)) ?? contact.dropUrls;
      if (dropUrls.length > 0) this.summary.owedReceipts.push({ dedupeKey: message.dedupeKey, dropUrls: dropUrls.slice(0, MAX_RECEIPT_URLS) });
    } else if (typeof placed === 'object') {
      const held = placed.heldAckIds ?? [];
      if (!held.includes(message.acknowledgeId)) placed.heldAckIds = [...held, message.acknowledgeId];
    }
  }

  private async flush(): Promise<void> {
    const { db } = this;
    const pieces: TextPartRecord[] = [];
    for (const group of this.touchedGroups) pieces.push(...(await settleGroup(db, group)));
    if (pieces.length > 0) await db.textParts.bulkPut(pieces);
    const rows = [...this.senders.values()].flatMap((s) => [...s.touched.values()]);
    if (rows.length > 0) await db.messages.bulkPut(rows);
    if (this.newSeen.size > 0) await db.seen.bulkPut([...this.newSeen.values()]);
    if (this.newPosts.size > 0) await db.posts.bulkPut([...this.newPosts.values()]);
    if (this.newShares.size > 0) await db.shares.bulkPut([...this.newShares.values()]);

    const contacts: ContactRecord[] = [];
    const conversations: ConversationRecord[] = [];
    for (const sender of this.senders.values()) {
      if (sender.unstored > 0 && sender.contact) {
        sender.contact = { ...sender.contact, unstoredMessages: (sender.contact.unstoredMessages ?? 0) + sender.unstored };
        sender.contactChanged = true;
      }
      if (sender.contactChanged && sender.contact) contacts.push(sender.contact);
      if (sender.touched.size > 0) conversations.push(conversationAfter(sender));
    }
    if (contacts.length > 0) await db.contacts.bulkPut(contacts);
    if (conversations.length > 0) await db.conversations.bulkPut(conversations);
    for (const [identityId, count] of this.unstoredRequests) {
      const key = unstoredRequestsKey(identityId);
      const current = (await db.settings.get(key))?.value;
      await db.settings.put({ key, value: (typeof current === 'number' ? current : 0) + count });
    }
  }
}

/** Whether a message becomes a chat row (rather than a contact update or a post). */
function isChat(message: IncomingMessage): boolean {
  return storageOf(message.content).table === 'messages';
}

/** The conversation once a slice's rows of one sender are in: newest message, unread and message counts. */
function conversationAfter(sender: Sender): ConversationRecord {
  const rows = [...sender.touched.values()].sort((a, b) => a.sortAt - b.sortAt);
  const first = rows[0]!;
  const current = sender.conversation;
  const next: ConversationRecord = current
    ? { ...current }
    : { identityId: first.identityId, contactKey: first.contactKey, lastMessageAt: first.sortAt, lastMessagePreview: '', lastMessageDirection: 'in', unreadCount: 0, messageCount: 0 };
  for (const row of rows) {
    if (row.sortAt < next.lastMessageAt) continue;
    next.lastMessageAt = row.sortAt;
    next.lastMessagePreview = previewOf(row);
    next.lastMessageDirection = row.direction;
  }
  next.unreadCount += sender.newRows;
  next.messageCount += sender.newRows + sender.eventRows;
  return next;
}
