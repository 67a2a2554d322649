/**
 * The UI's part of a full backup (README "Backup files"): an identity's contacts, conversations,
 * delivered-message keys and, when chosen, its messages, read out of the database and written back.
 * Restoring writes in one transaction, so a failure leaves the database as it was.
 */
import Dexie from 'dexie';
import type {
  BackupContact, BackupConversation, BackupMessage, BackupPost, BackupPostCopy, BackupSeen, BackupShare, BackupTextPart, BackupUiPart,
} from '../../../shared/backup/backupPayload.js';
import { forgetIdentityData } from '../identities/forgetIdentityData.js';
import type { ShareRecord } from '../shares/shareRecords.js';
import type { DeaddropDatabase } from './database.js';
import type { ContactRecord, ConversationRecord, MessageRecord, PostCopyRecord, PostRecord, SeenRecord, TextPartRecord } from './records.js';

/** Records written per step of a restore (between progress reports). */
const WRITE_SLICE = 5_000;

/** How far a long step got: `done` of `total`. */
export type StepProgress = (done: number, total: number) => void;

/** Everything of `identityId` that a backup keeps, as the backup's records (no ids of the identity, nothing derived). */
export async function gatherBackupRecords(db: DeaddropDatabase, identityId: string, includeHistory: boolean, progress: StepProgress = () => undefined): Promise<BackupUiPart> {
  return db.transaction('r', [db.contacts, db.conversations, db.messages, db.seen, db.textParts, db.posts, db.postCopies, db.shares], async () => {
    const contacts = await db.contacts.where('identityId').equals(identityId).toArray();
    const conversations = await db.conversations
      .where('[identityId+lastMessageAt]')
      .between([identityId, Dexie.minKey], [identityId, Dexie.maxKey])
      .toArray();
    const seen = await db.seen.where('[identityId+dedupeKey]').between([identityId, Dexie.minKey], [identityId, Dexie.maxKey]).toArray();
    const messages: BackupMessage[] = [];
    const textParts: BackupTextPart[] = [];
    const counts = new Map<string, number>();
    if (includeHistory) {
      const total = conversations.reduce((sum, c) => sum + c.messageCount, 0);
      await db.messages
        .where('[identityId+contactKey+sortAt]')
        .between([identityId, Dexie.minKey, Dexie.minKey], [identityId, Dexie.maxKey, Dexie.maxKey])
        .each((record) => {
          const message = backupMessage(record);
          messages.push(message);
          counts.set(record.contactKey, (counts.get(record.contactKey) ?? 0) + 1);
          if (messages.length % 2_000 === 0) progress(messages.length, Math.max(total, messages.length));
        });
      const parts = await db.textParts.where('[identityId+contactKey]').between([identityId, Dexie.minKey], [identityId, Dexie.maxKey]).toArray();
      for (const part of parts) textParts.push({ messageId: part.messageId, index: part.index, contactKey: part.contactKey, text: part.text });
    }
    const posts = includeHistory ? (await db.posts.where('[identityId+sortAt]').between([identityId, Dexie.minKey], [identityId, Dexie.maxKey]).toArray()).map(backupPost) : [];
    const postCopies = includeHistory ? (await db.postCopies.where('identityId').equals(identityId).toArray()).map(backupPostCopy) : [];
    // Shared folders are kept like contacts (what is shared and with whom), with or without history.
    const shares = (await db.shares.where('identityId').equals(identityId).toArray()).map(backupShare);
    progress(messages.length, messages.length);
    return {
      contacts: contacts.map(backupContact),
      // The count is what the backup holds, so a restored chat list is as long as its messages.
      conversations: conversations.map((c) => backupConversation(c, counts.get(c.contactKey) ?? 0, includeHistory)),
      messages,
      textParts,
      seen: seen.map((s): BackupSeen => ({ dedupeKey: s.dedupeKey, messageId: s.messageId })),
      posts,
      postCopies,
      shares,
    };
  });
}

/**
 * Writes a checked backup's records for `identityId` in one transaction: whatever an earlier, cut-short
 * restore or deletion left of this identity goes first. Refuses (writing nothing) when a message would
 * replace one of another identity.
 */
export async function restoreBackupRecords(db: DeaddropDatabase, identityId: string, ui: BackupUiPart, progress: StepProgress = () => undefined): Promise<void> {
  const tables = [db.contacts, db.conversations, db.messages, db.seen, db.pendingReceipts, db.textParts, db.settings, db.posts, db.postCopies, db.shares];
  await db.transaction('rw', tables, async () => {
    const existing = await db.messages.bulkGet(ui.messages.map((m) => m.id));
    if (existing.some((record) => record !== undefined && record.identityId !== identityId)) {
      throw new Error('This backup holds messages that belong to another identity here: nothing was restored.');
    }
    await forgetIdentityData(db, identityId);
    await db.contacts.bulkPut(ui.contacts.map((c) => contactRecord(identityId, c)));
    await db.conversations.bulkPut(ui.conversations.map((c): ConversationRecord => ({ identityId, ...c })));
    await db.seen.bulkPut(ui.seen.map((s): SeenRecord => ({ identityId, ...s })));
    await db.textParts.bulkPut(ui.textParts.map((p): TextPartRecord => ({ identityId, ...p })));
    await db.posts.bulkPut(ui.posts.map((p): PostRecord => ({ identityId, ...p })));
    await db.postCopies.bulkPut(ui.postCopies.map((c): PostCopyRecord => ({ identityId, ...c })));
    await db.shares.bulkPut(ui.shares.map((share): ShareRecord => ({ identityId, ...share })));
    for (let start = 0; start < ui.messages.length; start += WRITE_SLICE) {
      await db.messages.bulkPut(ui.messages.slice(start, start + WRITE_SLICE).map((m) => messageRecord(identityId, m)));
      progress(Math.min(start + WRITE_SLICE, ui.messages.length), ui.messages.length);
    }
    progress(ui.messages.length, ui.messages.length);
  });
}

function backupContact(c: ContactRecord): BackupContact {
  return {
    publicKey: c.publicKey,
    alias: c.alias,
    dropUrls: c.dropUrls,
    offeredDropUrls: c.offeredDropUrls ?? [],
    status: c.status,
    createdAt: c.createdAt,
    ...(c.unstoredMessages !== undefined ? { unstoredMessages: c.unstoredMessages } : {}),
    ...(c.aliasFromUser !== undefined ? { aliasFromUser: c.aliasFromUser } : {}),
    ...(c.announcedAlias !== undefined ? { announcedAlias: c.announcedAlias } : {}),
    ...(c.aliasRevision !== undefined ? { aliasRevision: c.aliasRevision } : {}),
    ...(c.updateRevision !== undefined ? { updateRevision: c.updateRevision } : {}),
    ...(c.metaDropsRevision !== undefined ? { metaDropsRevision: c.metaDropsRevision } : {}),
    // Without the card's prekey a restored app's first message to the contact could not be forward-secret;
    // without the update's progress it would forget who has not confirmed a move.
    ...(c.v1 !== undefined ? { v1: { qrPrekey: c.v1.qrPrekey, qrPrekeyExpiresDay: c.v1.qrPrekeyExpiresDay, caps: c.v1.caps } } : {}),
    ...(c.ownUpdate !== undefined ? { ownUpdate: { sent: c.ownUpdate.sent, confirmed: c.ownUpdate.confirmed, localId: c.ownUpdate.localId, ackIds: c.ownUpdate.ackIds } } : {}),
    ...(c.syncStamp !== undefined ? { syncStamp: { clock: c.syncStamp.clock, device: c.syncStamp.device } } : {}),
  };
}

function backupPost(p: PostRecord): BackupPost {
  return { id: p.id, authorKey: p.authorKey, direction: p.direction, postId: p.postId, text: p.text, sortAt: p.sortAt, createdAt: p.createdAt, unread: p.unread };
}

function backupShare({ identityId: _identityId, ...share }: ShareRecord): BackupShare {
  return share;
}

function backupPostCopy(c: PostCopyRecord): BackupPostCopy {
  return { localId: c.localId, postRowId: c.postRowId, contactKey: c.contactKey, status: c.status, error: c.error, ackIds: c.ackIds, ackedIds: c.ackedIds };
}

function contactRecord(identityId: string, c: BackupContact): ContactRecord {
  return { identityId, ...c, aliasLower: c.alias.toLowerCase() };
}

function backupConversation(c: ConversationRecord, messageCount: number, includeHistory: boolean): BackupConversation {
  return {
    contactKey: c.contactKey,
    lastMessageAt: c.lastMessageAt,
    // Without history the preview would quote a message the backup does not hold.
    lastMessagePreview: includeHistory ? c.lastMessagePreview : '',
    lastMessageDirection: c.lastMessageDirection,
    unreadCount: includeHistory ? c.unreadCount : 0,
    messageCount,
  };
}

function backupMessage(m: MessageRecord): BackupMessage {
  return {
    id: m.id,
    contactKey: m.contactKey,
    direction: m.direction,
    kind: m.kind,
    text: m.text,
    payloadType: m.payloadType,
    payload: m.payload,
    share: m.share,
    sortAt: m.sortAt,
    createdAt: m.createdAt,
    status: m.status,
    localId: m.localId,
    error: m.error,
    ackIds: m.ackIds,
    ackedIds: m.ackedIds,
    parts: m.parts,
    read: m.read,
    ...(m.heldAckIds !== undefined ? { heldAckIds: m.heldAckIds } : {}),
    ...(m.copies !== undefined ? { copies: { posted: m.copies.posted, wanted: m.copies.wanted } } : {}),
    ...(m.repost !== undefined ? { repost: m.repost } : {}),
    ...(m.unconfirmedSession !== undefined ? { unconfirmedSession: m.unconfirmedSession } : {}),
    ...(m.sentFrom !== undefined ? { sentFrom: m.sentFrom } : {}),
  };
}

function messageRecord(identityId: string, m: BackupMessage): MessageRecord {
  return { identityId, ...m };
}
