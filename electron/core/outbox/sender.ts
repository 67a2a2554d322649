/**
 * The outbox: seals and posts outgoing messages with retries, reports `outbox/status`, and is
 * idempotent by localId across restarts (the sealed pieces are on disk before the first POST and
 * dropped one by one as they are posted; that progress is written within the state file's write
 * delay, so a piece posted just before a crash may be posted again after it: the very same bytes,
 * which the recipient drops as a duplicate).
 * Receipts owed go into the state file's queue before they are posted and leave it once posted, so
 * a receipt the engine could not post before it stopped is posted after the next start (and one
 * posted just before a crash may be posted twice). With the `sendReceipts` setting off, no receipt is
 * queued or posted, and those still queued are dropped unsent.
 * While a message waits between attempts, its status says why (`SendingReason`), and `retryNow`
 * makes the next attempt at once.
 */
import { randomUUID } from 'node:crypto';
import type { EventSink, ParsedRequestOf, SendAccepted, SendingReason } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { Logger } from '../../../shared/log.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { fromHex } from '../../../shared/protocol/encoding.js';
import { type DropMessage, NO_ACKNOWLEDGE_ID, buildAck, encodeDropMessage, metaToWire } from '../../../shared/protocol/message.js';
import { buildMessages, type SendContent } from '../../../shared/modules/registry.js';
import type { SessionSender } from '../sessions/sessionSender.js';
import { BOX_MESSAGE } from '../../../shared/protocol/payloadTypes.js';
import { asApiFailure } from '../api/protocolFailure.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { StateStore } from '../state/stateStore.js';
import type { OutboxRecord, QueuedReceipt } from '../state/stateSchema.js';
import type { DropClient } from '../net/dropClient.js';
import type { RetryBudget } from '../net/retryBudget.js';
import { type RetryPolicy, RetryNudge, postWithRetry } from './postWithRetry.js';
import { sendingReasonOf } from './sendingReason.js';

export interface SenderOptions {
  stateStore: StateStore;
  pool: CryptoPool;
  client(): DropClient;
  emit: EventSink;
  retry: RetryPolicy;
  /** Receipts are best effort: fewer attempts than chat messages. */
  receiptRetry: RetryPolicy;
  /** Retries per destination server, shared by messages and receipts. */
  retryBudget: RetryBudget;
  now(): number;
  logger: Logger;
  /**
   * Version 1 (sessions/sessionSender.ts), when switched on: messages to contacts who speak it go out in
   * a session, and every version-0 message says we speak it (`dd: {v: 1}`). Absent: version 0 only.
   */
  v1?: SessionSender | undefined;
}

/** A queued receipt no start managed to post within this time is given up. */
const MAX_RECEIPT_AGE_MS = 7 * 24 * 3600_000;

interface Job {
  abort: AbortController;
  cancelled: boolean;
  done: Promise<void>;
  nudge: RetryNudge;
  /** What the last failed attempt met, while the message waits for the next one. */
  reason: SendingReason | null;
}

export class Sender {
  private readonly jobs = new Map<string, Job>();
  private readonly preparing = new Map<string, Promise<SendAccepted>>();
  private readonly receipts = new Set<Promise<void>>();
  /** Queued receipts being posted now, by identity, recipient and acknowledge id. */
  private readonly receiptsPosting = new Set<string>();
  private closing = new AbortController();

  constructor(private readonly options: SenderOptions) {}

  /** The version-1 side, when switched on. */
  get v1(): SessionSender | undefined {
    return this.options.v1;
  }

  async send(request: ParsedRequestOf<'messages/send'>): Promise<SendAccepted> {
    // Two submissions of one localId racing each other must share one preparation, not seal twice.
    const preparing = this.preparing.get(request.localId);
    if (preparing) return preparing;
    const accepted = this.accept(request).finally(() => this.preparing.delete(request.localId));
    this.preparing.set(request.localId, accepted);
    return accepted;
  }

  private async accept(request: ParsedRequestOf<'messages/send'>): Promise<SendAccepted> {
    const { stateStore } = this.options;
    const existing = stateStore.outboxRecord(request.localId);
    if (existing) {
      const accepted = { localId: request.localId, acknowledgeIds: existing.acknowledgeIds, parts: existing.parts };
      if (this.jobs.has(request.localId)) return accepted;
      if (existing.pendingPdus.length === 0) {
        this.options.emit('outbox/status', { localId: request.localId, status: existing.status });
      } else {
        this.startJob(request.localId);
      }
      return accepted;
    }
    const identity = stateStore.identity(request.identityId);
    const pair = stateStore.keyPair(request.identityId);
    const content: SendContent = request.content ?? { type: BOX_MESSAGE, text: request.text ?? '' };
    const messages = asApiFailure(() =>
      buildMessages(content, {
        sender: identity.publicKey,
        identity: { alias: identity.alias, dropUrls: identity.dropUrls },
        meta: { alias: identity.alias, dropUrl: identity.dropUrls[0], publicKey: identity.publicKey },
        wantReceipt: request.wantReceipt,
        now: this.options.now(),
        newId: randomUUID,
      }),
    );
    const recipientKey = fromHex(request.recipient.publicKey, 32);
    const v1 = this.options.v1;
    // Where the UI writes to this contact is where the engine's own PINGs go too.
    if (v1) await v1.notePeerDrops(identity.id, request.recipient.publicKey, request.recipient.dropUrls).catch(() => undefined);
    const sessionPdus = v1 ? await v1.sealMessages(identity.id, pair, request.recipient, messages).catch(() => null) : null;
    const pdus =
      sessionPdus ??
      (await Promise.all(messages.map((m) => this.options.pool.seal(pair, recipientKey, v1 ? encodeAdvertising(m) : encodeDropMessage(m)))).catch((err: unknown) => {
        // The worker refuses keys that cannot be used (e.g. low-order points): the request is at fault.
        throw new ApiFailure('bad_input', err instanceof Error ? err.message : 'The message could not be sealed.');
      }));
    const record: OutboxRecord = {
      status: 'sending',
      identityId: identity.id,
      acknowledgeIds: messages.map((m) => m.acknowledge_id).filter((id) => id !== NO_ACKNOWLEDGE_ID),
      parts: messages.length,
      postedParts: 0,
      pendingPdus: pdus.map((pdu) => Buffer.from(pdu).toString('base64')),
      dropUrls: [...request.recipient.dropUrls],
      updatedAt: this.options.now(),
    };
    await stateStore.putOutboxRecord(request.localId, record);
    this.startJob(request.localId);
    return { localId: request.localId, acknowledgeIds: record.acknowledgeIds, parts: record.parts };
  }

  /**
   * Makes the next attempt for a message being sent now. False when it is not being sent (posted,
   * failed, cancelled, unknown); an attempt under way already counts as the retry.
   */
  retryNow(localId: string): { retrying: boolean } {
    const job = this.jobs.get(localId);
    if (!job || job.cancelled) return { retrying: false };
    job.nudge.nudge();
    return { retrying: true };
  }

  /** Why a message being sent waits (null when it is not waiting, or not being sent). */
  sendingReason(localId: string): SendingReason | null {
    return this.jobs.get(localId)?.reason ?? null;
  }

  async cancel(localId: string): Promise<{ cancelled: boolean }> {
    const record = this.options.stateStore.outboxRecord(localId);
    if (!record || record.pendingPdus.length === 0) return { cancelled: false };
    const job = this.jobs.get(localId);
    if (job) {
      job.cancelled = true;
      job.abort.abort();
    }
    await this.options.stateStore.putOutboxRecord(localId, { ...record, status: 'cancelled', pendingPdus: [], updatedAt: this.options.now() });
    this.options.emit('outbox/status', { localId, status: 'cancelled' });
    return { cancelled: true };
  }

  /**
   * Owes a `box_ack` for a received message (never acknowledged itself): queues it in the state file,
   * then posts it to the first of `dropUrls` that takes it. Only well-formed drop URLs are tried, each
   * under the destination guard. A receipt not posted by the time the engine stops is posted after
   * the next start.
   */
  sendReceipt(identityId: string, recipientKey: string, dropUrls: readonly string[], acknowledgeId: string): void {
    const usable = dropUrls.filter(isDropUrl);
    if (usable.length === 0 || !this.options.stateStore.settings().sendReceipts) return;
    const receipt: QueuedReceipt = { identityId, recipientKey, dropUrls: usable, acknowledgeId, queuedAt: this.options.now() };
    this.trackReceipt(this.options.stateStore.queueReceipt(receipt).then(() => this.deliverReceipt(receipt)));
  }

  /** Posts the receipts an earlier run queued and did not post (call once the state store is unlocked). */
  resumeReceipts(): void {
    for (const receipt of this.options.stateStore.queuedReceipts()) this.trackReceipt(this.deliverReceipt(receipt));
  }

  /** Resolves when every receipt queued so far has been posted or given up. */
  async receiptsSettled(): Promise<void> {
    while (this.receipts.size > 0) await Promise.all([...this.receipts]);
  }

  /** Stops every job; unfinished messages stay resumable by re-sending their localId. */
  /**
   * Posts a PDU the engine made by itself (a version-1 PING) with the receipts' retry policy: best
   * effort, tracked like a receipt so closing waits for it.
   */
  postOwn(dropUrls: readonly string[], pdu: Uint8Array): Promise<void> {
    const task: Promise<void> = postWithRetry({ client: this.options.client, dropUrls, pdu, retry: this.options.receiptRetry, budget: this.options.retryBudget, signal: this.closing.signal })
      .then(() => undefined)
      .catch((err: unknown) => this.options.logger.warn('own message not posted', { error: err instanceof Error ? err.message : 'unknown' }))
      .finally(() => this.receipts.delete(task));
    this.receipts.add(task);
    return task;
  }

  async close(): Promise<void> {
    this.closing.abort();
    for (const job of this.jobs.values()) job.abort.abort();
    await Promise.all([...this.jobs.values()].map((job) => job.done));
    await Promise.all([...this.receipts]);
  }

  /** Takes work again after `close()` (the engine was locked, now unlocked); then `resumeReceipts`. */
  resume(): void {
    if (this.closing.signal.aborted) this.closing = new AbortController();
  }

  private trackReceipt(work: Promise<void>): void {
    const task = work.catch((err: unknown) =>
      this.options.logger.warn('receipt not sent', { error: err instanceof Error ? err.message : 'unknown' }),
    );
    this.receipts.add(task);
    void task.finally(() => this.receipts.delete(task));
  }

  /** Posts one queued receipt and takes it off the queue; a failure leaves it queued for the next start. */
  private async deliverReceipt(receipt: QueuedReceipt): Promise<void> {
    const { stateStore } = this.options;
    const key = `${receipt.identityId}:${receipt.recipientKey}:${receipt.acknowledgeId}`;
    if (this.receiptsPosting.has(key) || this.closing.signal.aborted) return;
    const gone = !stateStore.identities().some((identity) => identity.id === receipt.identityId);
    if (gone || !stateStore.settings().sendReceipts || receipt.queuedAt < this.options.now() - MAX_RECEIPT_AGE_MS) {
      await stateStore.removeReceipt(receipt);
      return;
    }
    this.receiptsPosting.add(key);
    try {
      await this.postReceipt(receipt);
    } catch (err) {
      if (!this.closing.signal.aborted) {
        this.options.logger.warn('receipt not sent; tried again at the next start', { error: err instanceof Error ? err.message : 'unknown' });
      }
      return;
    } finally {
      this.receiptsPosting.delete(key);
    }
    await stateStore.removeReceipt(receipt);
  }

  private async postReceipt({ identityId, recipientKey, dropUrls, acknowledgeId }: QueuedReceipt): Promise<void> {
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
    const sessionPdu = v1 ? await v1.sealReceipt(identityId, pair, recipientKey, [acknowledgeId]).catch(() => null) : null;
    const pdu = sessionPdu ?? (await this.options.pool.seal(pair, fromHex(recipientKey, 32), v1 ? encodeAdvertising(ack) : encodeDropMessage(ack)));
    await postWithRetry({ client: this.options.client, dropUrls, pdu, retry: this.options.receiptRetry, budget: this.options.retryBudget, signal: this.closing.signal });
  }

  private startJob(localId: string): void {
    const job: Job = { abort: new AbortController(), cancelled: false, done: Promise.resolve(), nudge: new RetryNudge(), reason: null };
    this.jobs.set(localId, job);
    job.done = this.runJob(localId, job).finally(() => this.jobs.delete(localId));
  }

  private async runJob(localId: string, job: Job): Promise<void> {
    const { stateStore, emit } = this.options;
    let record = stateStore.outboxRecord(localId);
    if (!record) return;
    try {
      if (record.status !== 'sending') await stateStore.putOutboxRecord(localId, (record = { ...record, status: 'sending' }));
      while (record.pendingPdus.length > 0) {
        const pdu = new Uint8Array(Buffer.from(record.pendingPdus[0]!, 'base64'));
        await postWithRetry({
          client: this.options.client,
          dropUrls: record.dropUrls,
          pdu,
          retry: this.options.retry,
          budget: this.options.retryBudget,
          signal: job.abort.signal,
          nudge: job.nudge,
          onAttempt: (attempt) => {
            // During an attempt the last reason stays true, but no attempt is scheduled.
            if (job.reason) job.reason = { ...job.reason, retryAt: null };
            emit('outbox/status', { localId, status: 'sending', attempt, ...(job.reason ? { reason: job.reason } : {}) });
          },
          onWaiting: (failure, delayMs) => {
            job.reason = sendingReasonOf(failure, this.options.now() + delayMs);
            emit('outbox/status', { localId, status: 'sending', reason: job.reason });
          },
        });
        job.reason = null;
        if (job.cancelled) return;
        record = { ...record, postedParts: record.postedParts + 1, pendingPdus: record.pendingPdus.slice(1), updatedAt: this.options.now() };
        if (record.pendingPdus.length === 0) record.status = 'posted';
        await stateStore.putOutboxRecord(localId, record);
      }
      emit('outbox/status', { localId, status: 'posted' });
    } catch (err) {
      if (job.cancelled || this.closing.signal.aborted) return;
      const error = err instanceof ApiFailure || err instanceof Error ? err.message : 'Sending failed.';
      await stateStore.putOutboxRecord(localId, { ...record, status: 'failed', updatedAt: this.options.now() });
      emit('outbox/status', { localId, status: 'failed', error });
    }
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

/**
 * A version-0 message that says we speak version 1 (`dd: {v: 1}`), so a contact who knows us from an
 * old card answers with a session. A message that fills its PDU without the flag goes without it: the
 * other messages carry it.
 */
function encodeAdvertising(m: DropMessage): Uint8Array {
  try {
    return encodeDropMessage({ ...m, dd: { v: 1 } });
  } catch {
    return encodeDropMessage(m);
  }
}
