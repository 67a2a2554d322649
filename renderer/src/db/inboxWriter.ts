import type { EventMap, IncomingMessage, OwedReceipt, Receipt } from '../../../shared/ipc/contract.js';
import type { DeaddropDatabase } from './database.js';
import { contactFromHello, helloDropUrls, incomingRecord, joinedParts, previewOf } from './incomingMessage.js';
import type { MessageRecord } from './records.js';

export interface InboxWriteSummary {
  inserted: number;
  duplicates: number;
  delivered: number;
  /**
   * The receipts owed for this batch, for `inbox/ack`: only to accepted contacts, at the drop URLs the
   * user accepted for them. Strangers, ignored and blocked senders learn nothing from us.
   */
  owedReceipts: OwedReceipt[];
}

/** The engine takes this many drop URLs per receipt (its `inbox/ack` schema). */
const MAX_RECEIPT_URLS = 16;
const RECEIPT_STATUSES = new Set(['accepted', 'verified']);
const NO_RECEIPT = '0';
const RECEIPT_TYPE = 'box_ack';

/**
 * Stores one `inbox/batch` in a single transaction. Idempotent: a message whose dedupe key was
 * seen before inserts nothing, so the engine may deliver a batch again (at-least-once) and the
 * screen still shows every message exactly once. The caller acknowledges the batch to the engine
 * only after this resolves, i.e. after the commit.
 */
export async function writeInboxBatch(db: DeaddropDatabase, batch: EventMap['inbox/batch']): Promise<InboxWriteSummary> {
  const summary: InboxWriteSummary = { inserted: 0, duplicates: 0, delivered: 0, owedReceipts: [] };
  await db.transaction(
    'rw',
    [db.messages, db.seen, db.contacts, db.conversations, db.pendingReceipts, db.drops],
    async () => {
      for (const message of batch.messages) {
        const storedId = await storeIncoming(db, message);
        if (storedId !== null) summary.inserted++;
        else summary.duplicates++;
        const sender = await db.contacts.get([message.identityId, message.senderKey]);
        const asked = message.acknowledgeId !== NO_RECEIPT && message.type !== RECEIPT_TYPE;
        if (!asked || !sender) continue;
        if (RECEIPT_STATUSES.has(sender.status)) {
          if (sender.dropUrls.length > 0) summary.owedReceipts.push({ dedupeKey: message.dedupeKey, dropUrls: sender.dropUrls.slice(0, MAX_RECEIPT_URLS) });
        } else if (sender.status !== 'blocked' && storedId) {
          await holdReceipt(db, storedId, message.acknowledgeId);
        }
      }
      for (const receipt of batch.receipts) summary.delivered += await applyReceipt(db, receipt);
      await recordDrops(db, batch.messages);
    },
  );
  return summary;
}

/** Stores one message; returns the id of the row it went into ('' for a blocked sender), null for a duplicate. */
async function storeIncoming(db: DeaddropDatabase, message: IncomingMessage): Promise<string | null> {
  const seenKey: [string, string] = [message.identityId, message.dedupeKey];
  if (await db.seen.get(seenKey)) return null;

  const contactKey: [string, string] = [message.identityId, message.senderKey];
  let contact = await db.contacts.get(contactKey);
  if (!contact) {
    contact = contactFromHello(message.identityId, message.senderKey, message.meta, message.receivedAt);
    await db.contacts.put(contact);
  } else {
    // A newer hello may name another drop: offered again, never taken without the user.
    const offered = helloDropUrls(message.meta);
    if (offered.length > 0 && offered.join(' ') !== (contact.offeredDropUrls ?? []).join(' ')) {
      await db.contacts.update(contactKey, { offeredDropUrls: offered });
    }
  }
  if (contact.status === 'blocked') {
    // Remember the key so a blocked sender's repeats are not even looked at again.
    await db.seen.put({ identityId: message.identityId, dedupeKey: message.dedupeKey, messageId: '' });
    return '';
  }

  const { record, isNewRow } =
    message.part && message.part.count > 1
      ? await mergePart(db, message)
      : { record: incomingRecord(`in:${message.identityId}:${message.dedupeKey}`, message), isNewRow: true };
  await db.messages.put(record);
  await db.seen.put({ identityId: message.identityId, dedupeKey: message.dedupeKey, messageId: record.id });
  await touchConversation(db, record, isNewRow);
  return record.id;
}

/** A request's message asked for a receipt: kept with the message, answered only if the user accepts. */
async function holdReceipt(db: DeaddropDatabase, messageId: string, acknowledgeId: string): Promise<void> {
  await db.messages
    .where('id')
    .equals(messageId)
    .modify((m) => {
      const held = m.heldAckIds ?? [];
      if (!held.includes(acknowledgeId)) m.heldAckIds = [...held, acknowledgeId];
    });
}

/** Pieces of one long text are kept in one message row, shown once every piece is there. */
async function mergePart(db: DeaddropDatabase, message: IncomingMessage): Promise<{ record: MessageRecord; isNewRow: boolean }> {
  const part = message.part!;
  const id = `in:${message.identityId}:${message.senderKey}:part:${part.groupId}`;
  const existing = await db.messages.get(id);
  const base = existing ?? { ...incomingRecord(id, message), parts: { count: part.count, received: {} } };
  const parts = { count: base.parts?.count ?? part.count, received: { ...base.parts?.received } };
  if (part.index >= 0 && part.index < parts.count) parts.received[part.index] = message.text ?? '';
  const joined = joinedParts(parts);
  const text = joined ?? '';
  const sortAt = Math.min(base.sortAt, incomingRecord(id, message).sortAt);
  const record = { ...base, parts, text, sortAt, read: false };
  return { record, isNewRow: existing === undefined };
}

async function touchConversation(db: DeaddropDatabase, record: MessageRecord, isNewRow: boolean): Promise<void> {
  const key: [string, string] = [record.identityId, record.contactKey];
  const current = await db.conversations.get(key);
  const newest = !current || record.sortAt >= current.lastMessageAt;
  await db.conversations.put({
    identityId: record.identityId,
    contactKey: record.contactKey,
    lastMessageAt: newest ? record.sortAt : current.lastMessageAt,
    lastMessagePreview: newest ? previewOf(record) : current.lastMessagePreview,
    lastMessageDirection: newest ? record.direction : current.lastMessageDirection,
    unreadCount: (current?.unreadCount ?? 0) + (isNewRow && record.direction === 'in' ? 1 : 0),
    messageCount: (current?.messageCount ?? 0) + (isNewRow ? 1 : 0),
  });
}

/**
 * Marks our outgoing message delivered once every part's receipt is in. Only the recipient can
 * confirm: a receipt from anyone else for the same id is ignored.
 */
export async function applyReceipt(db: DeaddropDatabase, receipt: Receipt): Promise<number> {
  const matches = await db.messages.where('ackIds').equals(receipt.acknowledgeId).toArray();
  const mine = matches.filter((m) => m.identityId === receipt.identityId && m.contactKey === receipt.senderKey);
  if (mine.length === 0) {
    await db.pendingReceipts.put({
      identityId: receipt.identityId,
      acknowledgeId: receipt.acknowledgeId,
      senderKey: receipt.senderKey,
      receivedAt: receipt.receivedAt,
    });
    return 0;
  }
  let delivered = 0;
  for (const message of mine) {
    const ackedIds = message.ackedIds.includes(receipt.acknowledgeId) ? message.ackedIds : [...message.ackedIds, receipt.acknowledgeId];
    const complete = message.ackIds.every((ackId) => ackedIds.includes(ackId));
    if (complete && message.status !== 'delivered') delivered++;
    await db.messages.update(message.id, { ackedIds, ...(complete ? { status: 'delivered', error: null } : {}) });
  }
  return delivered;
}

async function recordDrops(db: DeaddropDatabase, messages: IncomingMessage[]): Promise<void> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.dropUrl, (counts.get(m.dropUrl) ?? 0) + 1);
  for (const [dropUrl, count] of counts) {
    const current = await db.drops.get(dropUrl);
    await db.drops.put({ dropUrl, lastBatchAt: Date.now(), messagesReceived: (current?.messagesReceived ?? 0) + count });
  }
}
