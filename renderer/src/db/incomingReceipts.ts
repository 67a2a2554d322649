/**
 * Delivery receipts (`box_ack`) for our outgoing messages. A receipt may overtake the engine's answer
 * that names the acknowledge ids of a message; such receipts wait in `pendingReceipts`. Anyone can
 * send receipts for ids we never issued, so waiting is bounded: only from someone we could have
 * written to (a contact), at most MAX_WAITING_RECEIPTS_PER_SENDER per sender, for a day.
 */
import type { Receipt } from '../../../shared/ipc/contract.js';
import type { DeaddropDatabase } from './database.js';
import type { ContactRecord } from './records.js';
import { MAX_WAITING_RECEIPTS_PER_SENDER, WAITING_RECEIPT_TTL_MS } from './senderBounds.js';
import { confirmUpdateByReceipt, confirmsUpdate } from '../identities/dropMigration.js';

/**
 * Applies receipts; returns how many of our messages became delivered. Call inside a transaction
 * over messages, contacts and pendingReceipts.
 */
export async function applyReceipts(db: DeaddropDatabase, receipts: readonly Receipt[], now = Date.now()): Promise<number> {
  await db.pendingReceipts.where('receivedAt').below(now - WAITING_RECEIPT_TTL_MS).delete();
  const contacts = new Map<string, ContactRecord | undefined>();
  const waiting = new Map<string, number>();
  let delivered = 0;
  for (const receipt of receipts) {
    const applied = await applyReceipt(db, receipt);
    if (applied !== null) {
      delivered += applied;
      continue;
    }
    const sender = `${receipt.identityId}\n${receipt.senderKey}`;
    if (!contacts.has(sender)) contacts.set(sender, await db.contacts.get([receipt.identityId, receipt.senderKey]));
    // Without a contact we never wrote to them, so no message of ours can be waiting for this.
    if (!contacts.get(sender)) continue;
    // Our drop-list updates have no message row: the contact record knows their receipt ids.
    // (Checked before awaiting: an await on no database request would let the transaction commit.)
    if (confirmsUpdate(receipt, contacts.get(sender))) {
      await confirmUpdateByReceipt(db, receipt, contacts.get(sender));
      contacts.set(sender, await db.contacts.get([receipt.identityId, receipt.senderKey]));
      continue;
    }
    const count =
      waiting.get(sender) ?? (await db.pendingReceipts.where('[identityId+senderKey]').equals([receipt.identityId, receipt.senderKey]).count());
    if (count >= MAX_WAITING_RECEIPTS_PER_SENDER) continue;
    waiting.set(sender, count + 1);
    await db.pendingReceipts.put({
      identityId: receipt.identityId,
      acknowledgeId: receipt.acknowledgeId,
      senderKey: receipt.senderKey,
      receivedAt: receipt.receivedAt,
    });
  }
  return delivered;
}

/**
 * Marks our outgoing message delivered once every part's receipt is in. Only the recipient can
 * confirm: a receipt from anyone else for the same id is ignored. Null when no message of ours
 * to that sender has this acknowledge id (yet).
 */
async function applyReceipt(db: DeaddropDatabase, receipt: Receipt): Promise<number | null> {
  const matches = await db.messages.where('ackIds').equals(receipt.acknowledgeId).toArray();
  const mine = matches.filter((m) => m.identityId === receipt.identityId && m.contactKey === receipt.senderKey);
  if (mine.length === 0) return null;
  let delivered = 0;
  for (const message of mine) {
    const ackedIds = message.ackedIds.includes(receipt.acknowledgeId) ? message.ackedIds : [...message.ackedIds, receipt.acknowledgeId];
    const complete = message.ackIds.every((ackId) => ackedIds.includes(ackId));
    if (complete && message.status !== 'delivered') delivered++;
    await db.messages.update(message.id, { ackedIds, ...(complete ? { status: 'delivered', error: null } : {}) });
  }
  return delivered;
}
