/**
 * Receipts sent again for version-0 messages that arrive a second time (issue 15 "Re-posting"). A v0
 * sender re-posts a message until its `box_ack` arrives (reposter.ts); if that receipt was lost, every
 * re-post is a duplicate of a message already shown, which the poller drops unseen, so without this the
 * sender would re-post until its time limit and show the message as never delivered. The poller tells
 * us each such duplicate (a message that asked for a receipt and whose dedupe key was acknowledged
 * before), and we post the receipt again.
 *
 * Bounded: at most one receipt per (identity, sender, acknowledge id) a day. The sender re-posts every
 * TTL/2 (3.5 days), so each re-post is answered, while a hostile sender replaying one PDU a thousand
 * times gets one receipt a day for it, no more than an honest re-post would: nothing is amplified. The
 * receipt goes only to drops the UI gave us for that contact (an earlier receipt, a message we sent,
 * the session store's record), never to a drop a message names for itself.
 */

const DAY_MS = 24 * 3600_000;
/** Entries kept (answered ids, contacts' drops); the oldest go first. */
const MAX_REMEMBERED = 10_000;

export interface ReceiptAgainOptions {
  /** Queues and posts a receipt (outbox/sender.ts `sendReceipt`). */
  sendReceipt(identityId: string, senderKey: string, dropUrls: readonly string[], acknowledgeId: string): void;
  /** Where the UI last told the engine to write to this contact, if anywhere (the session store's peer facts). */
  knownDrops?(identityId: string, senderKey: string): readonly string[] | undefined;
  now(): number;
}

export class ReceiptAgain {
  /** `<identity> <sender> <acknowledge id>` → when we last answered it again. */
  private readonly answered = new Map<string, number>();
  /** `<identity> <sender>` → the drops the UI last gave for a receipt to them. */
  private readonly drops = new Map<string, readonly string[]>();

  constructor(private readonly options: ReceiptAgainOptions) {}

  /** The UI named the drops for a receipt to this contact (kept for answering duplicates later). */
  noteDrops(identityId: string, senderKey: string, dropUrls: readonly string[]): void {
    if (dropUrls.length === 0) return;
    remember(this.drops, `${identityId} ${senderKey}`, [...dropUrls]);
  }

  /**
   * A message that asked for a receipt arrived again after it was shown: answer it again unless we did
   * within the day. True when a receipt was queued.
   */
  answer(identityId: string, senderKey: string, acknowledgeId: string): boolean {
    const now = this.options.now();
    const key = `${identityId} ${senderKey} ${acknowledgeId}`;
    const last = this.answered.get(key);
    if (last !== undefined && now - last < DAY_MS) return false;
    let dropUrls = this.drops.get(`${identityId} ${senderKey}`);
    if (!dropUrls) {
      try {
        dropUrls = this.options.knownDrops?.(identityId, senderKey);
      } catch {
        dropUrls = undefined; // locked meanwhile: the next re-post is answered
      }
    }
    if (!dropUrls || dropUrls.length === 0) return false;
    remember(this.answered, key, now);
    this.options.sendReceipt(identityId, senderKey, dropUrls, acknowledgeId);
    return true;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value!);
}
