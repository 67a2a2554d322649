import type { EventMap, OwedReceipt } from '../../../shared/ipc/contract.js';
import type { DeaddropDatabase } from './database.js';
import { InboxChunkWriter } from './inboxChunk.js';
import { applyReceipts } from './incomingReceipts.js';
import { applyPostReceipts } from './posts.js';
import { DroppedKeys, MESSAGES_PER_TRANSACTION } from './senderBounds.js';

export interface InboxWriteSummary {
  /** Messages stored (a piece of a long text counts once). */
  inserted: number;
  duplicates: number;
  /** Not stored: from blocked senders, beyond a sender bound (counted on the sender), or oversized long texts. */
  dropped: number;
  delivered: number;
  /**
   * The receipts owed for this batch, for `inbox/ack`: only to accepted contacts, at the drop URLs the
   * user accepted for them. Strangers, ignored and blocked senders learn nothing from us.
   */
  owedReceipts: OwedReceipt[];
}

const droppedKeys = new WeakMap<DeaddropDatabase, DroppedKeys>();

/**
 * Stores one `inbox/batch`, in slices of MESSAGES_PER_TRANSACTION messages, one transaction each: a
 * flood in a batch holds up a Block, or the next slice's messages, for one slice at most, and each
 * slice writes only what the sender bounds keep. Idempotent: a message whose dedupe key was seen
 * before inserts nothing, so the engine may deliver a batch again (at-least-once) and the screen
 * still shows every message exactly once; a slice that committed before a failure is simply found
 * again. The caller acknowledges the batch to the engine only after this resolves, i.e. after the
 * last commit.
 */
export async function writeInboxBatch(db: DeaddropDatabase, batch: EventMap['inbox/batch']): Promise<InboxWriteSummary> {
  const summary: InboxWriteSummary = { inserted: 0, duplicates: 0, dropped: 0, delivered: 0, owedReceipts: [] };
  let dropped = droppedKeys.get(db);
  if (!dropped) droppedKeys.set(db, (dropped = new DroppedKeys()));
  // Scope functions are `async` so that Dexie keeps the transaction alive across their awaits.
  const tables = [db.messages, db.seen, db.contacts, db.conversations, db.textParts, db.settings, db.posts, db.shares];
  const storedPerDrop = new Map<string, number>();
  for (let start = 0; start < batch.messages.length; start += MESSAGES_PER_TRANSACTION) {
    const slice = batch.messages.slice(start, start + MESSAGES_PER_TRANSACTION);
    const writer = new InboxChunkWriter(db, summary, dropped);
    await db.transaction('rw', tables, async () => {
      await writer.write(slice);
    });
    for (const [dropUrl, count] of writer.storedPerDrop) storedPerDrop.set(dropUrl, (storedPerDrop.get(dropUrl) ?? 0) + count);
  }
  for (let start = 0; start < batch.receipts.length; start += MESSAGES_PER_TRANSACTION) {
    const slice = batch.receipts.slice(start, start + MESSAGES_PER_TRANSACTION);
    // Copies of our posts first: what confirms none goes on as a chat receipt (or waits for its message).
    summary.delivered += await db.transaction('rw', [db.messages, db.contacts, db.pendingReceipts, db.postCopies], async () => {
      return await applyReceipts(db, await applyPostReceipts(db, slice));
    });
  }
  await db.transaction('rw', db.drops, async () => {
    await recordDrops(db, storedPerDrop);
  });
  return summary;
}

/** What arrived from each drop, as stored: a batch delivered again (at-least-once) adds nothing. */
async function recordDrops(db: DeaddropDatabase, storedPerDrop: ReadonlyMap<string, number>): Promise<void> {
  for (const [dropUrl, count] of storedPerDrop) {
    const current = await db.drops.get(dropUrl);
    await db.drops.put({ dropUrl, lastBatchAt: Date.now(), messagesReceived: (current?.messagesReceived ?? 0) + count });
  }
}
