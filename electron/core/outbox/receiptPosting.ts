/**
 * Receipts the outbox owes (sender.ts): each goes into the state file's queue before it is posted and
 * leaves it once posted, so a receipt the engine could not post before it stopped is posted after the
 * next start (and one posted just before a crash may be posted twice). With the `sendReceipts`
 * setting off, no receipt is queued or posted, and those still queued are dropped unsent.
 */
import type { Logger } from '../../../shared/log.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { fromHex } from '../../../shared/protocol/encoding.js';
import { type DropMessage, buildAck, metaToWire } from '../../../shared/protocol/message.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { DropClient } from '../net/dropClient.js';
import type { RetryBudget } from '../net/retryBudget.js';
import type { QueuedReceipt } from '../state/stateSchema.js';
import type { DropPoster } from './dropPoster.js';
import { type VersionZeroEncoding, versionZeroEncoder } from './messageSealing.js';
import { type RetryPolicy, postWithRetry } from './postWithRetry.js';

export interface ReceiptPostingOptions extends VersionZeroEncoding {
  pool: CryptoPool;
  client(): DropClient;
  /** Receipts are best effort: fewer attempts than chat messages. */
  receiptRetry: RetryPolicy;
  retryBudget: RetryBudget;
  now(): number;
  logger: Logger;
  poster: DropPoster;
  /** Aborted while the outbox closes (a new signal after each `resume`). */
  closing(): AbortSignal;
  /** The outbox's work in the background, which closing waits for: receipts being posted join it. */
  tracked: Set<Promise<void>>;
}

/** A queued receipt no start managed to post within this time is given up. */
const MAX_RECEIPT_AGE_MS = 7 * 24 * 3600_000;

export class ReceiptPosting {
  /** Queued receipts being posted now, by identity, recipient and acknowledge id. */
  private readonly posting = new Set<string>();

  constructor(private readonly options: ReceiptPostingOptions) {}

  /**
   * Owes a `box_ack` for a received message (never acknowledged itself): queues it in the state file,
   * then posts it to the first of `dropUrls` that takes it. Only well-formed drop URLs are tried, each
   * under the destination guard. A receipt not posted by the time the engine stops is posted after
   * the next start.
   */
  send(identityId: string, recipientKey: string, dropUrls: readonly string[], acknowledgeId: string): void {
    const usable = dropUrls.filter(isDropUrl);
    if (usable.length === 0 || !this.options.stateStore.settings().sendReceipts) return;
    const receipt: QueuedReceipt = { identityId, recipientKey, dropUrls: usable, acknowledgeId, queuedAt: this.options.now() };
    this.track(this.options.stateStore.queueReceipt(receipt).then(() => this.deliver(receipt)));
  }

  /** Posts the receipts an earlier run queued and did not post. */
  resumeQueued(): void {
    for (const receipt of this.options.stateStore.queuedReceipts()) this.track(this.deliver(receipt));
  }

  private track(work: Promise<void>): void {
    const { tracked } = this.options;
    const task = work.catch((err: unknown) =>
      this.options.logger.warn('receipt not sent', { error: err instanceof Error ? err.message : 'unknown' }),
    );
    tracked.add(task);
    void task.finally(() => tracked.delete(task));
  }

  /** Posts one queued receipt and takes it off the queue; a failure leaves it queued for the next start. */
  private async deliver(receipt: QueuedReceipt): Promise<void> {
    const { stateStore } = this.options;
    const key = `${receipt.identityId}:${receipt.recipientKey}:${receipt.acknowledgeId}`;
    if (this.posting.has(key) || this.options.closing().aborted) return;
    const gone = !stateStore.identities().some((identity) => identity.id === receipt.identityId);
    if (gone || !stateStore.settings().sendReceipts || receipt.queuedAt < this.options.now() - MAX_RECEIPT_AGE_MS) {
      await stateStore.removeReceipt(receipt);
      return;
    }
    this.posting.add(key);
    try {
      await this.post(receipt);
    } catch (err) {
      if (!this.options.closing().aborted) {
        this.options.logger.warn('receipt not sent; tried again at the next start', { error: err instanceof Error ? err.message : 'unknown' });
      }
      return;
    } finally {
      this.posting.delete(key);
    }
    await stateStore.removeReceipt(receipt);
  }

  /*
   * A receipt goes as one copy, to the first drop that takes it, never re-posted: a receipt lost costs
   * no message. The sender keeps the message and re-posts it until acknowledged, and in version 1
   * every later message and PING of ours carries the acknowledgement vector again, so the next one
   * acknowledges what a lost one did. Copies of every receipt would double the traffic of every
   * conversation for a loss the re-posting already covers. (Version 0: a re-post of a message shown
   * before is not shown again, but its receipt is posted again, at most once a day: receiptAgain.ts.)
   */
  private async post({ identityId, recipientKey, dropUrls, acknowledgeId }: QueuedReceipt): Promise<void> {
    const { stateStore } = this.options;
    const identity = stateStore.identity(identityId);
    const ack: DropMessage = {
      ...buildAck(identity.publicKey, acknowledgeId, this.options.now()),
      meta_data: metaToWire({ alias: identity.alias, dropUrl: identity.dropUrls[0], publicKey: identity.publicKey }),
    };
    const v1 = this.options.v1;
    const pair = stateStore.keyPair(identityId);
    // To a peer we have a session with, the receipt is a v1 RECEIPT; else a v0 box_ack.
    if (v1) await v1.notePeerDrops(identityId, recipientKey, dropUrls).catch(() => undefined);
    // One RECEIPT per device of the contact with per-device sessions.
    const sessionPdus = v1 ? await v1.sealReceipt(identityId, pair, recipientKey, [acknowledgeId]).catch(() => null) : null;
    const pdus = sessionPdus ?? [await this.options.pool.seal(pair, fromHex(recipientKey, 32), versionZeroEncoder(this.options, identityId, recipientKey)(ack))];
    const signal = this.options.closing();
    const post = (url: string, bytes: Uint8Array) => this.options.poster.post(url, bytes, signal, { identityId, contactKey: recipientKey });
    for (const pdu of pdus) await postWithRetry({ client: this.options.client, dropUrls, pdu, post, retry: this.options.receiptRetry, budget: this.options.retryBudget, signal });
  }
}

function isDropUrl(url: string): boolean {
  try {
    parseDropUrl(url);
    return true;
  } catch {
    return false;
  }
}
