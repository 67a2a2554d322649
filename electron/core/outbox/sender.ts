/**
 * The outbox: seals and posts outgoing messages with retries, reports `outbox/status`, and is
 * idempotent by localId across restarts (the sealed pieces are on disk before the first POST; that
 * progress is written within the state file's write delay, so a piece posted just before a crash may
 * be posted again after it: the very same bytes, which the recipient drops as a duplicate).
 * Each message goes to k of the recipient's drops on distinct servers (copies.ts: k from the
 * `copies` setting, servers ranked by health.ts), each copy encrypted separately; a copy whose server
 * fails moves to the next server. `posted` comes once every piece has one copy out, with `copies`
 * saying how many. The sealed copies stay in the state file until the recipient acknowledges the
 * message, and are re-posted meanwhile (reposter.ts); messages asking for no receipt are neither
 * copied (version 0) nor re-posted, and drop their bytes once posted.
 * Receipts owed go into the state file's queue before they are posted and leave it once posted, so
 * a receipt the engine could not post before it stopped is posted after the next start (and one
 * posted just before a crash may be posted twice). With the `sendReceipts` setting off, no receipt is
 * queued or posted, and those still queued are dropped unsent.
 * While a message waits between attempts, its status says why (`SendingReason`), and `retryNow`
 * makes the next attempt at once.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_COPIES, type EventSink, type ParsedRequestOf, type Receipt, type SendAccepted, type SendingReason } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { Logger } from '../../../shared/log.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { fromHex } from '../../../shared/protocol/encoding.js';
import { type DropMessage, NO_ACKNOWLEDGE_ID, buildAck, encodeDropMessage, metaToWire } from '../../../shared/protocol/message.js';
import { buildMessages, type SendContent } from '../../../shared/modules/registry.js';
import { type SessionSender, sentRefKey } from '../sessions/sessionSender.js';
import type { SentRef } from '../sessions/receiver.js';
import { BOX_MESSAGE } from '../../../shared/protocol/payloadTypes.js';
import { asApiFailure } from '../api/protocolFailure.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { StateStore } from '../state/stateStore.js';
import type { StoredOutboxRecord, QueuedReceipt } from '../state/stateSchema.js';
import { type DropClient, DropRequestError } from '../net/dropClient.js';
import type { RetryBudget } from '../net/retryBudget.js';
import { type RetryPolicy, RetryNudge, postWithRetry } from './postWithRetry.js';
import { sendingReasonOf } from './sendingReason.js';
import { DEFAULT_HEALTH, type HealthPolicy, ServerHealthBook, distinctServers } from './health.js';
import { DEFAULT_REPOST, type RepostPolicy, Reposter } from './reposter.js';
import { createStamper, type Stamper, type StampProgress } from '../spam/stamper.js';
import { postStamped } from './stampedPost.js';
import { forgetTickets, noteBatchGiven, takeTicket, ticketsToHandOut, type TicketsDue } from '../spam/ticketWallet.js';
import { flushRevocations } from '../spam/revocation.js';
import { buildTicketsMessages } from '../../../shared/modules/tickets.js';
import { MAX_TARGETS, awaitsAcknowledgement, chooseSealed, copiesOf, dropSealed, freeTargets, isPosted, needsPosting, pieceAcked, sealedAt, statusEvent, tiedCopies } from './copies.js';

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
  /** k of n: overrides the `copies` setting (simulations); absent: the setting, else DEFAULT_COPIES. */
  copies?: number | undefined;
  /** Re-posting until acknowledged (reposter.ts); DEFAULT_REPOST where absent. */
  repost?: Partial<RepostPolicy> | undefined;
  /** Server health scores (health.ts); DEFAULT_HEALTH where absent. */
  health?: Partial<HealthPolicy> | undefined;
  /**
   * Computes proof-of-work stamps when a server asks for one (stampedPost.ts). Absent: the outbox's
   * own, whose worker thread starts at the first stamp a server asks for (most never do).
   */
  stamper?: Stamper | undefined;
  /**
   * The hash of the recipient's device list as we know it (devices/deviceNews.ts), echoed in `dd.dh` of
   * every version-0 message that says we speak version 1: how the recipient's devices spot a device they
   * never added. Absent, or undefined for a recipient: no echo.
   */
  devlistEcho?: ((identityId: string, recipientHex: string) => string | undefined) | undefined;
}

/** Marks the engine's own ticket messages (they hand out no tickets in turn). */
const HANDING_OUT = Symbol('handingOutTickets');

/** Stamp progress goes to the UI at most this often (the worker reports every ~30 ms). */
const STAMP_PROGRESS_EVERY_MS = 250;

/** A queued receipt no start managed to post within this time is given up. */
const MAX_RECEIPT_AGE_MS = 7 * 24 * 3600_000;

interface Job {
  abort: AbortController;
  cancelled: boolean;
  done: Promise<void>;
  nudge: RetryNudge;
  /** What the last failed attempt met, while the message waits for the next one. */
  reason: SendingReason | null;
  /** The recipient acknowledged it meanwhile: no more copies are needed. */
  delivered: boolean;
}

export class Sender {
  private readonly jobs = new Map<string, Job>();
  private readonly preparing = new Map<string, Promise<SendAccepted>>();
  private readonly receipts = new Set<Promise<void>>();
  /** Queued receipts being posted now, by identity, recipient and acknowledge id. */
  private readonly receiptsPosting = new Set<string>();
  private closing = new AbortController();
  private readonly health: ServerHealthBook;
  private readonly reposter: Reposter;
  /** Version-1 messages waiting for room in their session (`waitingForContact`), by localId. */
  private readonly waiting = new Map<string, { request: ParsedRequestOf<'messages/send'>; messages: DropMessage[] }>();
  private readonly stamper: Stamper;
  /** Identity and contact pairs being handed tickets now (two messages sent at once hand out once). */
  private readonly handingOut = new Set<string>();
  /** Told of every message accepted afresh (devices/sync.ts tells the identity's other devices). */
  private readonly acceptedListeners: ((request: ParsedRequestOf<'messages/send'>, messages: readonly DropMessage[]) => void)[] = [];

  constructor(private readonly options: SenderOptions) {
    this.stamper = options.stamper ?? createStamper();
    this.health = new ServerHealthBook(options.stateStore, options.now, { ...DEFAULT_HEALTH, ...options.health });
    this.reposter = new Reposter({
      stateStore: options.stateStore,
      client: options.client,
      health: this.health,
      emit: options.emit,
      now: options.now,
      logger: options.logger,
      policy: { ...DEFAULT_REPOST, ...options.repost },
      busy: (localId) => this.jobs.has(localId),
      post: (dropUrl, pdu, record) => this.postOne(dropUrl, pdu, this.closing.signal, undefined, this.walletFor(record.identityId, record.recipientKey, dropUrl), this.forgetterFor(record.identityId, record.recipientKey, dropUrl)),
    });
    options.v1?.onPeerAcked((identityId, peerHex, refs) => this.notePeerAcked(identityId, peerHex, refs));
    options.v1?.onSessionsCommitted((identityId, peerHex) => this.retryWaiting(identityId, peerHex));
  }

  /** Hears of every message the outbox accepts afresh (not its own ticket hand-outs). */
  onAccepted(listener: (request: ParsedRequestOf<'messages/send'>, messages: readonly DropMessage[]) => void): void {
    this.acceptedListeners.push(listener);
  }

  /** `dd.dh` for a message to this recipient (none to ourselves: siblings hold the list itself). */
  private echo(identityId: string, recipientHex: string): string | undefined {
    if (recipientHex === this.options.stateStore.identity(identityId).publicKey) return undefined;
    return this.options.devlistEcho?.(identityId, recipientHex);
  }

  /** The version-1 side, when switched on. */
  get v1(): SessionSender | undefined {
    return this.options.v1;
  }

  /** `built`: the drop messages of a message that waited (their acknowledge ids are the UI's already). */
  async send(request: ParsedRequestOf<'messages/send'>, built?: DropMessage[]): Promise<SendAccepted> {
    // Two submissions of one localId racing each other must share one preparation, not seal twice.
    const preparing = this.preparing.get(request.localId);
    if (preparing) return preparing;
    const accepted = this.accept(request, built ?? this.waiting.get(request.localId)?.messages).finally(() => this.preparing.delete(request.localId));
    this.preparing.set(request.localId, accepted);
    return accepted;
  }

  private async accept(request: ParsedRequestOf<'messages/send'>, built?: DropMessage[]): Promise<SendAccepted> {
    const { stateStore } = this.options;
    const existing = stateStore.outboxRecord(request.localId);
    if (existing) {
      const accepted = { localId: request.localId, acknowledgeIds: existing.acknowledgeIds, parts: existing.parts };
      if (this.jobs.has(request.localId)) return accepted;
      const unfinished = existing.pieces.length > 0 ? existing.status !== 'cancelled' && needsPosting(existing) : existing.pendingPdus.length > 0;
      if (unfinished) this.startJob(request.localId);
      else this.options.emit('outbox/status', statusEvent(request.localId, existing));
      return accepted;
    }
    const identity = stateStore.identity(request.identityId);
    const pair = stateStore.keyPair(request.identityId);
    const content: SendContent = request.content ?? { type: BOX_MESSAGE, text: request.text ?? '' };
    const messages =
      built ??
      asApiFailure(() =>
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
    // Where the UI writes to this contact is where the engine's own PINGs go too (not to ourselves:
    // sibling sync writes to the identity's own drops).
    if (v1 && request.recipient.publicKey !== identity.publicKey) await v1.notePeerDrops(identity.id, request.recipient.publicKey, request.recipient.dropUrls).catch(() => undefined);
    const wantReceipt = messages.every((m) => m.acknowledge_id !== NO_ACKNOWLEDGE_ID);
    // One target per distinct server, best first by what our own posts learned.
    const targets = this.health.rank(distinctServers(request.recipient.dropUrls)).slice(0, MAX_TARGETS);
    const k = Math.max(1, Math.min(this.options.copies ?? stateStore.settings().copies ?? DEFAULT_COPIES, targets.length));
    const session = v1 ? await this.sealV1(v1, identity.id, pair, request.recipient, messages, k) : null;
    if (session === 'windowFull') {
      // Nothing sealed: the session may not send more before the contact answers. The message waits
      // (in memory: after a restart the UI hands it over again) for the contact's next message.
      this.waiting.set(request.localId, { request, messages });
      this.options.emit('outbox/status', { localId: request.localId, status: 'sending', reason: waitingReason() });
      return { localId: request.localId, acknowledgeIds: messages.map((m) => m.acknowledge_id).filter((id) => id !== NO_ACKNOWLEDGE_ID), parts: messages.length };
    }
    let protocol: 0 | 1 = 0;
    let sealed: Uint8Array[][];
    let refs: string[] = [];
    if (session) {
      protocol = 1;
      sealed = session.pdus;
      refs = session.refs;
    } else {
      // Version 0: a box per target, or one box for a message asking for no receipt (its copies
      // could not be told apart by the receiver, which dedupes those by PDU hash).
      const boxes = wantReceipt ? Math.max(1, targets.length) : 1;
      sealed = await Promise.all(
        messages.map((m) => Promise.all(Array.from({ length: boxes }, () => this.options.pool.seal(pair, recipientKey, v1 ? encodeAdvertising(m, this.echo(identity.id, request.recipient.publicKey)) : encodeDropMessage(m))))),
      ).catch((err: unknown) => {
        // The worker refuses keys that cannot be used (e.g. low-order points): the request is at fault.
        throw new ApiFailure('bad_input', err instanceof Error ? err.message : 'The message could not be sealed.');
      });
    }
    const wanted = protocol === 1 ? Math.min(k, sealed[0]?.length ?? 1) : wantReceipt ? k : 1;
    const record: StoredOutboxRecord = {
      status: 'sending',
      identityId: identity.id,
      acknowledgeIds: messages.map((m) => m.acknowledge_id).filter((id) => id !== NO_ACKNOWLEDGE_ID),
      parts: messages.length,
      postedParts: 0,
      pendingPdus: [],
      dropUrls: [...request.recipient.dropUrls],
      updatedAt: this.options.now(),
      protocol,
      wanted,
      recipientKey: request.recipient.publicKey,
      targets: targets.length > 0 ? targets : [...request.recipient.dropUrls],
      pieces: sealed.map((copies) => ({ sealed: copies.map((pdu) => Buffer.from(pdu).toString('base64')), placed: [] })),
      acked: [],
      deliveredAt: null,
      nextRepostAt: null,
      repostUntil: null,
      repostEnded: null,
      refs,
    };
    await stateStore.putOutboxRecord(request.localId, record);
    this.startJob(request.localId);
    if (!(HANDING_OUT in request)) for (const listener of this.acceptedListeners) listener(request, messages);
    if (!(HANDING_OUT in request) && !this.closing.signal.aborted) {
      // Tracked like a receipt, so closing waits for it.
      const task: Promise<void> = this.handOutTickets(request)
        .catch((err: unknown) => this.options.logger.warn('tickets not handed out', { error: err instanceof Error ? err.message : 'unknown' }))
        .finally(() => this.receipts.delete(task));
      this.receipts.add(task);
    }
    return { localId: request.localId, acknowledgeIds: record.acknowledgeIds, parts: record.parts };
  }

  /**
   * Makes the next attempt for a message being sent now. False when it is not being sent (posted,
   * failed, cancelled, unknown); an attempt under way already counts as the retry.
   */
  retryNow(localId: string): { retrying: boolean } {
    const waiting = this.waiting.get(localId);
    if (waiting) {
      this.retryWaiting(waiting.request.identityId, waiting.request.recipient.publicKey);
      return { retrying: true };
    }
    const job = this.jobs.get(localId);
    if (!job || job.cancelled) return { retrying: false };
    job.nudge.nudge();
    return { retrying: true };
  }

  /** Why a message being sent waits (null when it is not waiting, or not being sent). */
  sendingReason(localId: string): SendingReason | null {
    if (this.waiting.has(localId)) return waitingReason();
    return this.jobs.get(localId)?.reason ?? null;
  }

  /**
   * Stops a message: one not posted yet never goes out (`cancelled`); one posted (every piece has a
   * copy out) stays `posted` and is re-posted no more (its repost state says `cancelled`): the copies
   * already on servers cannot be called back.
   */
  async cancel(localId: string): Promise<{ cancelled: boolean }> {
    if (this.waiting.delete(localId)) {
      this.options.emit('outbox/status', { localId, status: 'cancelled' });
      return { cancelled: true };
    }
    const record = this.options.stateStore.outboxRecord(localId);
    if (!record || record.status === 'cancelled' || record.deliveredAt !== null) return { cancelled: false };
    const legacy = record.pieces.length === 0;
    if (legacy ? record.pendingPdus.length === 0 : record.repostEnded !== null || (!needsPosting(record) && record.nextRepostAt === null)) return { cancelled: false };
    const job = this.jobs.get(localId);
    if (job) {
      job.cancelled = true;
      job.abort.abort();
    }
    if (!legacy && isPosted(record)) {
      this.reposter.end(localId, 'cancelled');
      return { cancelled: true };
    }
    await this.options.stateStore.putOutboxRecord(localId, { ...dropSealed(record, 'none'), status: 'cancelled', pendingPdus: [], updatedAt: this.options.now() });
    this.options.emit('outbox/status', { localId, status: 'cancelled' });
    return { cancelled: true };
  }

  /**
   * Receipts that arrived for our messages (`inbox/batch`; an authentic receipt needs no wait for the
   * UI's acknowledgement): each acknowledges one piece; a message whose every piece is acknowledged is
   * delivered, its sealed copies are forgotten and its re-posting stops.
   */
  noteReceipts(receipts: readonly Receipt[]): void {
    for (const receipt of receipts) {
      const localId = this.options.stateStore.outboxIdOf(receipt.identityId, receipt.senderKey, receipt.acknowledgeId);
      if (localId) this.acknowledge(localId, [receipt.acknowledgeId], 'receipt');
    }
  }

  /** Marks acknowledge ids of a message as acknowledged; delivered once all are. */
  private acknowledge(localId: string, acknowledgeIds: readonly string[], via: 'receipt' | 'ackv'): void {
    const { stateStore } = this.options;
    const record = stateStore.outboxRecord(localId);
    if (!record || record.deliveredAt !== null) return;
    const known = acknowledgeIds.filter((id) => record.acknowledgeIds.includes(id) || record.refs.includes(id));
    if (known.length === 0) return;
    const acked = [...new Set([...record.acked, ...known])];
    let next: StoredOutboxRecord = { ...record, acked, updatedAt: this.options.now() };
    // Every piece, by its receipt or (version 1) by the peer's acknowledgement vector.
    // With per-device sessions a part is in once any device of the contact acknowledged it.
    const delivered =
      next.pieces.length > 0
        ? Array.from({ length: next.parts }, (_, part) => part).every((part) => devicePieces(next, part).some((index) => pieceAcked(next, index)))
        : next.acknowledgeIds.every((id) => acked.includes(id));
    if (delivered) {
      next = { ...dropSealed(next, 'none'), pendingPdus: [], deliveredAt: this.options.now(), nextRepostAt: null };
      const job = this.jobs.get(localId);
      if (job) {
        job.delivered = true;
        job.abort.abort();
      }
    }
    void stateStore.putOutboxRecord(localId, next).catch(() => undefined);
    if (delivered) this.options.emit('outbox/delivered', { localId, via });
  }

  /**
   * The version-1 PDUs of these messages, `copies` of each, or null (send them as version 0). The one
   * place that speaks to the session sender's sealing.
   */
  private async sealV1(
    v1: SessionSender,
    identityId: string,
    pair: ReturnType<StateStore['keyPair']>,
    recipient: ParsedRequestOf<'messages/send'>['recipient'],
    messages: DropMessage[],
    copies: number,
  ): Promise<{ pdus: Uint8Array[][]; refs: string[] } | 'windowFull' | null> {
    const sealed = await v1.sealMessages(identityId, pair, recipient, messages, { copies }).catch(() => null);
    if (sealed?.kind === 'windowFull') return 'windowFull';
    return sealed?.kind === 'v1' ? { pdus: sealed.pdus, refs: sealed.refs.map(sentRefKey) } : null;
  }

  /**
   * The peer's acknowledgement vector covers messages of ours (version 1, after the batch carrying it
   * is committed): those are delivered once every piece is, and are re-posted no more.
   */
  private notePeerAcked(identityId: string, peerHex: string, refs: readonly SentRef[]): void {
    for (const ref of refs) {
      const key = sentRefKey(ref);
      const localId = this.options.stateStore.outboxIdOf(identityId, peerHex, key);
      if (localId) this.acknowledge(localId, [key], 'ackv');
    }
  }

  /** The peer's message was committed: its session may have room again for the messages waiting for it. */
  private retryWaiting(identityId: string, peerHex: string): void {
    for (const [localId, waiting] of this.waiting) {
      if (waiting.request.identityId !== identityId || waiting.request.recipient.publicKey !== peerHex) continue;
      this.waiting.delete(localId);
      void this.send(waiting.request, waiting.messages).catch((err: unknown) =>
        this.options.logger.warn('a waiting message could not be sealed', { error: err instanceof Error ? err.message : 'unknown' }),
      );
    }
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

  /**
   * Posts the receipts an earlier run queued and did not post, and starts re-posting unacknowledged
   * messages (call once the state store is unlocked).
   */
  resumeReceipts(): void {
    for (const receipt of this.options.stateStore.queuedReceipts()) this.trackReceipt(this.deliverReceipt(receipt));
    // A posted message whose later copies were still going out when the engine stopped goes on with
    // them (the UI hands back only messages not posted yet).
    for (const { localId } of this.options.stateStore.outboxHolding()) {
      const record = this.options.stateStore.outboxRecord(localId);
      if (record && record.status === 'posted' && !this.jobs.has(localId) && needsPosting(record)) this.startJob(localId);
    }
    this.reposter.start();
  }

  /** Resolves when every receipt queued so far has been posted or given up. */
  async receiptsSettled(): Promise<void> {
    while (this.receipts.size > 0) await Promise.all([...this.receipts]);
  }

  /** Stops every job; unfinished messages stay resumable by re-sending their localId. */
  /**
   * Posts a PDU the engine made by itself (a version-1 PING, DROPS_REQ, device news, an answer to a
   * stale prekey) from `to.identityId` to the contact `to.contactKey`, with the receipts' retry
   * policy: best effort, tracked like a receipt so closing waits for it.
   */
  postOwn(dropUrls: readonly string[], pdu: Uint8Array, to?: { identityId: string; contactKey: string }): Promise<void> {
    const signal = this.closing.signal;
    // A PDU to a contact's closed drop goes with a ticket that contact handed the identity it comes
    // from, else it would spend one of the drop's daily introductions, and a stamp. Only that pair's
    // tickets: one the contact handed another identity of ours would show the contact (whose server
    // sees its tickets spent) that the two identities are one. Without `to`: as a stranger.
    const post = (url: string, bytes: Uint8Array) =>
      this.postOne(url, bytes, signal, undefined, to ? this.walletFor(to.identityId, to.contactKey, url) : undefined, to ? this.forgetterFor(to.identityId, to.contactKey, url) : undefined);
    const task: Promise<void> = postWithRetry({ client: this.options.client, dropUrls, pdu, post, retry: this.options.receiptRetry, budget: this.options.retryBudget, signal })
      .then(() => undefined)
      .catch((err: unknown) => this.options.logger.warn('own message not posted', { error: err instanceof Error ? err.message : 'unknown' }))
      .finally(() => this.receipts.delete(task));
    this.receipts.add(task);
    return task;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.reposter.stop();
    for (const job of this.jobs.values()) job.abort.abort();
    await Promise.all([...this.jobs.values()].map((job) => job.done));
    await Promise.all([...this.receipts]);
    // Its worker starts again at the next stamp asked for (after an unlock).
    if (!this.options.stamper) await this.stamper.close();
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

  /*
   * A receipt goes as one copy, to the first drop that takes it, never re-posted: a receipt lost costs
   * no message. The sender keeps the message and re-posts it until acknowledged, and in version 1
   * every later message and PING of ours carries the acknowledgement vector again, so the next one
   * acknowledges what a lost one did. Copies of every receipt would double the traffic of every
   * conversation for a loss the re-posting already covers. (Version 0: a re-post of a message shown
   * before is not shown again, but its receipt is posted again, at most once a day: receiptAgain.ts.)
   */
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
    // One RECEIPT per device of the contact with per-device sessions.
    const sessionPdus = v1 ? await v1.sealReceipt(identityId, pair, recipientKey, [acknowledgeId]).catch(() => null) : null;
    const pdus = sessionPdus ?? [await this.options.pool.seal(pair, fromHex(recipientKey, 32), v1 ? encodeAdvertising(ack, this.echo(identityId, recipientKey)) : encodeDropMessage(ack))];
    const signal = this.closing.signal;
    const post = (url: string, bytes: Uint8Array) => this.postOne(url, bytes, signal, undefined, this.walletFor(identityId, recipientKey, url), this.forgetterFor(identityId, recipientKey, url));
    for (const pdu of pdus) await postWithRetry({ client: this.options.client, dropUrls, pdu, post, retry: this.options.receiptRetry, budget: this.options.retryBudget, signal });
  }

  /**
   * One POST of the outbox: a server that asks for proof of work gets a stamp computed for these
   * bytes and this drop, and the POST once more (stampedPost.ts). Receipts and the engine's own PDUs
   * go the same way: to the server they are messages like any other.
   */
  private postOne(
    dropUrl: string,
    pdu: Uint8Array,
    signal: AbortSignal,
    onStampProgress?: (progress: StampProgress) => void,
    nextTicket?: () => Promise<Uint8Array | null>,
    forgetTickets?: () => Promise<void>,
  ): Promise<void> {
    return postStamped(this.options.client(), this.stamper, dropUrl, pdu, {
      signal,
      ...(onStampProgress ? { onStampProgress } : {}),
      ...(nextTicket ? { nextTicket } : {}),
      ...(forgetTickets ? { forgetTickets } : {}),
    });
  }

  /** Takes tickets the contact handed this identity for that drop (ticketWallet.ts). */
  private walletFor(identityId: string, contactKey: string, dropUrl: string): () => Promise<Uint8Array | null> {
    return () => takeTicket(this.options.stateStore, identityId, contactKey, dropUrl, this.options.now()).catch(() => null);
  }

  /** Empties that wallet when the drop refuses its tickets as spent (the owner revoked them). */
  private forgetterFor(identityId: string, contactKey: string, dropUrl: string): () => Promise<void> {
    return () => forgetTickets(this.options.stateStore, identityId, contactKey, dropUrl).catch(() => undefined);
  }

  /**
   * The first time an identity writes to a contact, the contact is handed tickets for each of the
   * identity's closed drops (ticketWallet.ts), as messages of their own that the UI does not track
   * (no receipt, no re-posting: a contact who misses them gets in by stamp, as before); a later
   * message hands a fresh batch when the contact is estimated to run low (ticketBatches.ts). Strikes
   * of revoked contacts' tickets still pending go out first (revocation.ts).
   */
  private async handOutTickets(request: ParsedRequestOf<'messages/send'>): Promise<void> {
    const { stateStore } = this.options;
    const contactKey = request.recipient.publicKey;
    const pair = `${request.identityId}:${contactKey}`;
    // Our own devices (sibling sync) read our drops as we do: they need no tickets for them.
    if (this.handingOut.has(pair) || contactKey === stateStore.identity(request.identityId).publicKey) return;
    if (stateStore.closedDrops(request.identityId).some((claim) => claim.revoking.length > 0)) {
      const client = this.options.client();
      await flushRevocations(stateStore, (url, body) => client.postJson(url, body), request.identityId, this.options.now());
    }
    const due = ticketsToHandOut(stateStore, request.identityId, contactKey, this.options.now());
    if (due.length === 0) return;
    const identity = stateStore.identity(request.identityId);
    this.handingOut.add(pair);
    try {
      await this.handOut(request, identity, due);
    } finally {
      this.handingOut.delete(pair);
    }
  }

  private async handOut(request: ParsedRequestOf<'messages/send'>, identity: ReturnType<StateStore['identity']>, due: TicketsDue[]): Promise<void> {
    for (const { dropUrl, tickets, batch } of due) {
      if (this.closing.signal.aborted) return;
      const messages = buildTicketsMessages(dropUrl, tickets, {
        sender: identity.publicKey,
        identity: { alias: identity.alias, dropUrls: identity.dropUrls },
        meta: { alias: identity.alias, dropUrl: identity.dropUrls[0], publicKey: identity.publicKey },
        wantReceipt: false,
        now: this.options.now(),
        newId: randomUUID,
      });
      const localId = `tickets-${randomUUID()}`;
      await this.send({ ...request, localId, wantReceipt: false, text: undefined, content: undefined, [HANDING_OUT]: true } as ParsedRequestOf<'messages/send'>, messages);
      // Counted as given once out: tickets that never left (a failure, a restart) are minted afresh
      // with the next message to the contact.
      await this.jobs.get(localId)?.done;
      const record = this.options.stateStore.outboxRecord(localId);
      if (!record || !isPosted(record)) continue;
      await noteBatchGiven(this.options.stateStore, request.identityId, dropUrl, batch, this.options.now());
    }
  }

  /**
   * Tells the UI that a message's copy is being stamped: `outbox/stampProgress` (the first at once,
   * then at most four a second) besides its `sending` status, whose reason says why it takes a while.
   */
  private stampReporter(localId: string, job: Job, dropUrl: string): (progress: StampProgress) => void {
    let lastAt = -Infinity;
    return (progress) => {
      const at = performance.now();
      if (progress.hashes === 0) {
        job.reason = {
          kind: 'rateLimited',
          detail: 'The drop server is under load and asks for proof of work: this app computes it for the message, which may take some seconds.',
          retryAt: null,
        };
        this.options.emit('outbox/status', { localId, status: 'sending', reason: job.reason });
      } else if (at - lastAt < STAMP_PROGRESS_EVERY_MS) {
        return;
      }
      lastAt = at;
      this.options.emit('outbox/stampProgress', { localId, hashes: progress.hashes, expected: progress.expected, dropUrl });
    };
  }

  private startJob(localId: string): void {
    const job: Job = { abort: new AbortController(), cancelled: false, done: Promise.resolve(), nudge: new RetryNudge(), reason: null, delivered: false };
    this.jobs.set(localId, job);
    const record = this.options.stateStore.outboxRecord(localId);
    const run = record && record.pieces.length > 0 ? this.runCopies(localId, job) : this.runJob(localId, job);
    job.done = run.finally(() => this.jobs.delete(localId));
  }

  /**
   * Posts a record's copies: copy 1 of every piece (in order), then copy 2 of every piece, and so on,
   * so that `posted` (every piece on one server) comes as early as it can. Each copy goes to the best
   * server holding no copy of that piece yet, and on failure to the next such server; only rounds
   * over all of them wait and count as retries.
   */
  private async runCopies(localId: string, job: Job): Promise<void> {
    const { stateStore, emit } = this.options;
    let record: StoredOutboxRecord | null = stateStore.outboxRecord(localId);
    if (!record) return;
    if (record.status !== 'sending' && !isPosted(record)) await stateStore.putOutboxRecord(localId, (record = { ...record, status: 'sending' }));
    const stopped = () => job.cancelled || job.delivered || this.closing.signal.aborted;
    const tiedByPiece = record.pieces.map(tiedCopies);
    for (let slot = 0; slot < record.wanted; slot++) {
      const before = copiesOf(record).posted;
      for (let index = 0; index < record.pieces.length; index++) {
        if (record.pieces[index]!.placed.length > slot) continue;
        const free = freeTargets(record, record.pieces[index]!);
        if (free.length === 0) continue; // fewer servers than copies: no copy for this slot
        const snapshot: StoredOutboxRecord = record;
        const piece = snapshot.pieces[index]!;
        const targetOf = (url: string): number => snapshot.targets.indexOf(url);
        const first = slot === 0 && !isPosted(record);
        const tied = tiedByPiece[index]!;
        const chosen = new Map<string, number>();
        let dropUrl: string;
        try {
          dropUrl = await postWithRetry({
            client: this.options.client,
            dropUrls: this.health.rank(free.map((target) => snapshot.targets[target]!)),
            pdu: new Uint8Array(0),
            post: (url, bytes) => this.postOne(url, bytes, job.abort.signal, first ? this.stampReporter(localId, job, url) : undefined, this.walletFor(snapshot.identityId, snapshot.recipientKey, url), this.forgetterFor(snapshot.identityId, snapshot.recipientKey, url)),
            pduFor: (url) => {
              const sealed = chooseSealed(snapshot, piece, targetOf(url), tied);
              if (sealed === null) return null;
              chosen.set(url, sealed);
              return sealedAt(piece, sealed);
            },
            onOutcome: (url, ok, latencyMs, failure) => {
              // A refusal by our own address guard says nothing about the server.
              if (!(failure instanceof DropRequestError && failure.kind === 'refused')) this.health.record(url, ok, latencyMs);
              // Bytes that may be stored there stay tied to that server (version 1: one copy, one server).
              if (!ok && !(failure instanceof DropRequestError && failure.surelyNotStored)) tied.set(chosen.get(url)!, targetOf(url));
            },
            retry: this.options.retry,
            budget: this.options.retryBudget,
            signal: job.abort.signal,
            nudge: job.nudge,
            // Only the copies the message waits for say so; later copies go out behind "posted".
            onAttempt: (attempt) => {
              if (!first) return;
              if (job.reason) job.reason = { ...job.reason, retryAt: null };
              emit('outbox/status', { localId, status: 'sending', attempt, copies: copiesOf(snapshot), ...(job.reason ? { reason: job.reason } : {}) });
            },
            onWaiting: (failure, delayMs) => {
              if (!first) return;
              job.reason = sendingReasonOf(failure, this.options.now() + delayMs);
              emit('outbox/status', { localId, status: 'sending', reason: job.reason, copies: copiesOf(snapshot) });
            },
          });
        } catch (err) {
          if (stopped()) return;
          const current = stateStore.outboxRecord(localId);
          if (!current) return;
          if (isPosted(current)) {
            // A later copy found no server: the message is out all the same, with fewer copies
            // (a re-post tries a free server again).
            this.options.logger.warn('copy not posted', { error: err instanceof Error ? err.message : 'unknown' });
            return this.finishCopies(localId);
          }
          const error = err instanceof ApiFailure || err instanceof Error ? err.message : 'Sending failed.';
          await stateStore.putOutboxRecord(localId, { ...current, status: 'failed', updatedAt: this.options.now() });
          emit('outbox/status', { localId, status: 'failed', error, copies: copiesOf(current) });
          return;
        }
        job.reason = null;
        if (stopped()) return;
        // Read again: a receipt or a cancel may have changed the record while this copy went out.
        const current = stateStore.outboxRecord(localId);
        if (!current) return;
        const target: number = targetOf(dropUrl);
        const at = this.options.now();
        const pieces: StoredOutboxRecord['pieces'] = current.pieces.map((piece, i) =>
          i === index ? { ...piece, placed: [...piece.placed, { target, sealed: chosen.get(dropUrl)!, at }] } : piece,
        );
        tied.set(chosen.get(dropUrl)!, target);
        const placed = { ...current, pieces, updatedAt: at };
        // Per-device sessions seal each part once per device of the contact: a part is posted when all are.
        placed.postedParts = Array.from({ length: placed.parts }, (_, part) => part).filter((part) => devicePieces(placed, part).every((i) => placed.pieces[i]!.placed.length > 0)).length;
        record = placed;
        if (isPosted(record) && record.status !== 'posted') record = this.reposter.schedule({ ...record, status: 'posted' }, at);
        await stateStore.putOutboxRecord(localId, record);
      }
      if (copiesOf(record).posted > before || (slot === 0 && isPosted(record))) emit('outbox/status', statusEvent(localId, record));
    }
    await this.finishCopies(localId);
  }

  /** Every copy that could go out did: forget what no longer needs keeping, and bound what is kept. */
  private async finishCopies(localId: string): Promise<void> {
    const { stateStore } = this.options;
    const record = stateStore.outboxRecord(localId);
    if (!record || !isPosted(record)) return;
    const all = record.pieces.every((piece) => piece.placed.length >= record.wanted || freeTargets(record, piece).length === 0);
    // Nothing acknowledges a version-0 message without receipt: its bytes go; else the copies out are kept for
    // re-posting, and spare boxes only while a copy is still missing.
    const kept = !awaitsAcknowledgement(record) || record.deliveredAt !== null ? dropSealed(record, 'none') : all ? dropSealed(record, 'placed') : record;
    await stateStore.putOutboxRecord(localId, { ...kept, updatedAt: this.options.now() });
    this.reposter.enforceBounds();
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
          post: (url, bytes) => this.postOne(url, bytes, job.abort.signal, this.stampReporter(localId, job, url), this.walletFor(record!.identityId, record!.recipientKey, url), this.forgetterFor(record!.identityId, record!.recipientKey, url)),
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
 * other messages carry it. `devlistHash`: the recipient's device list hash as we know it (`dd.dh`).
 */
function encodeAdvertising(m: DropMessage, devlistHash?: string): Uint8Array {
  // The device list echo goes first when the PDU is too full for everything (the next message echoes).
  // `pd`: per-device sessions (PROTOCOL-V1.md 5c), so a contact on several devices keeps version 1 with us.
  for (const dd of devlistHash ? [{ v: 1, pd: 1, dh: devlistHash }, { v: 1, pd: 1 }] : [{ v: 1, pd: 1 }]) {
    try {
      return encodeDropMessage({ ...m, dd });
    } catch {
      // too long with it: try with less
    }
  }
  return encodeDropMessage(m);
}

/**
 * The pieces of one part: one, or (per-device sessions, sessions/devices.ts) one per device of the
 * contact, device after device (`pieces[d * parts + part]`).
 */
function devicePieces(record: StoredOutboxRecord, part: number): number[] {
  const devices = record.parts > 0 ? Math.max(1, Math.floor(record.pieces.length / record.parts)) : 1;
  return Array.from({ length: devices }, (_, d) => d * record.parts + part).filter((index) => index < record.pieces.length);
}

function waitingReason(): SendingReason {
  return {
    kind: 'waitingForContact',
    detail: 'The contact has not answered the last 128 messages; this one goes when their next message arrives.',
    retryAt: null,
  };
}
