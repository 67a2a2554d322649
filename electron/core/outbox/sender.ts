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
 * While a message waits between attempts, its status says why (`SendingReason`), and `retryNow`
 * makes the next attempt at once.
 *
 * This module accepts messages (sealing them, messageSealing.ts, into the record on disk), holds
 * those waiting for room in their session, cancels, and takes acknowledgements; the posting itself is
 * postingJobs.ts, each POST dropPoster.ts, receipts owed receiptPosting.ts, and the tickets handed to
 * contacts with their messages ticketHandOut.ts.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_COPIES, type EventSink, type ParsedRequestOf, type Receipt, type SendAccepted, type SendingReason } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { fromHex } from '../../../shared/protocol/encoding.js';
import { type DropMessage, NO_ACKNOWLEDGE_ID } from '../../../shared/protocol/message.js';
import { buildMessages, type SendContent } from '../../../shared/modules/registry.js';
import { type SessionSender, sentRefKey } from '../sessions/sessionSender.js';
import type { SentRef } from '../sessions/receiver.js';
import { BOX_MESSAGE } from '../../../shared/protocol/payloadTypes.js';
import { asApiFailure } from '../api/protocolFailure.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { StateStore } from '../state/stateStore.js';
import type { StoredOutboxRecord } from '../state/stateSchema.js';
import type { DropClient } from '../net/dropClient.js';
import type { RetryBudget } from '../net/retryBudget.js';
import { type RetryPolicy, postWithRetry } from './postWithRetry.js';
import { DEFAULT_HEALTH, type HealthPolicy, ServerHealthBook, distinctServers } from './health.js';
import { DEFAULT_REPOST, type RepostPolicy, Reposter } from './reposter.js';
import type { Stamper } from '../spam/stamper.js';
import { MAX_TARGETS, awaitsPosts, dropDone, dropSealed, isPerDevice, isPosted, needsPosting, pieceAcked, statusEvent } from './copies.js';
import { DropPoster } from './dropPoster.js';
import { sealVersionOne, sealVersionZero, versionZeroEncoder } from './messageSealing.js';
import { PostingJobs, devicePieces } from './postingJobs.js';
import { ReceiptPosting } from './receiptPosting.js';
import { HANDING_OUT, TicketHandOut } from './ticketHandOut.js';

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

export class Sender {
  private readonly preparing = new Map<string, Promise<SendAccepted>>();
  /** Receipts, the engine's own PDUs and ticket hand-outs under way: closing waits for them. */
  private readonly receipts = new Set<Promise<void>>();
  private closing = new AbortController();
  private readonly health: ServerHealthBook;
  private readonly reposter: Reposter;
  private readonly poster: DropPoster;
  private readonly jobs: PostingJobs;
  private readonly receiptPosting: ReceiptPosting;
  private readonly tickets: TicketHandOut;
  /** Version-1 messages waiting for room in their session (`waitingForContact`), by localId. */
  private readonly waiting = new Map<string, { request: ParsedRequestOf<'messages/send'>; messages: DropMessage[] }>();
  /** Told of every message accepted afresh (devices/sync.ts tells the identity's other devices). */
  private readonly acceptedListeners: ((request: ParsedRequestOf<'messages/send'>, messages: readonly DropMessage[]) => void)[] = [];

  constructor(private readonly options: SenderOptions) {
    const closing = () => this.closing.signal;
    this.poster = new DropPoster({ stateStore: options.stateStore, client: options.client, now: options.now, stamper: options.stamper });
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
      post: (dropUrl, pdu, record) => this.poster.post(dropUrl, pdu, this.closing.signal, { identityId: record.identityId, contactKey: record.recipientKey }),
      gone: (record, index) => isPerDevice(record) && options.v1?.copyToRemovedDevice(record.identityId, record.recipientKey, record.pieceDevices[index] ?? null, record.refs[index]!) === true,
    });
    this.jobs = new PostingJobs({
      stateStore: options.stateStore,
      client: options.client,
      emit: options.emit,
      retry: options.retry,
      retryBudget: options.retryBudget,
      now: options.now,
      logger: options.logger,
      health: this.health,
      reposter: this.reposter,
      poster: this.poster,
      closing,
    });
    this.receiptPosting = new ReceiptPosting({
      stateStore: options.stateStore,
      v1: options.v1,
      devlistEcho: options.devlistEcho,
      pool: options.pool,
      client: options.client,
      receiptRetry: options.receiptRetry,
      retryBudget: options.retryBudget,
      now: options.now,
      logger: options.logger,
      poster: this.poster,
      closing,
      tracked: this.receipts,
    });
    this.tickets = new TicketHandOut({
      stateStore: options.stateStore,
      client: options.client,
      now: options.now,
      send: (request, built) => this.send(request, built),
      posted: (localId) => this.jobs.get(localId)?.done,
      closing,
    });
    options.v1?.onPeerAcked((identityId, peerHex, refs) => this.notePeerAcked(identityId, peerHex, refs));
    options.v1?.onSessionsCommitted((identityId, peerHex) => this.retryWaiting(identityId, peerHex));
  }

  /** Hears of every message the outbox accepts afresh (not its own ticket hand-outs). */
  onAccepted(listener: (request: ParsedRequestOf<'messages/send'>, messages: readonly DropMessage[]) => void): void {
    this.acceptedListeners.push(listener);
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
      if (unfinished) this.jobs.start(request.localId);
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
    const session = v1 ? await sealVersionOne(v1, identity.id, pair, request.recipient, messages, k) : null;
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
    let pieceDevices: (string | null)[] = [];
    if (session) {
      protocol = 1;
      sealed = session.pdus;
      refs = session.refs;
      pieceDevices = session.pieceDevices;
    } else {
      // Version 0: a box per target, or one box for a message asking for no receipt (its copies
      // could not be told apart by the receiver, which dedupes those by PDU hash).
      const boxes = wantReceipt ? Math.max(1, targets.length) : 1;
      sealed = await sealVersionZero(this.options.pool, pair, recipientKey, messages, boxes, versionZeroEncoder(this.options, identity.id, request.recipient.publicKey));
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
      pieceDevices,
    };
    await stateStore.putOutboxRecord(request.localId, record);
    this.jobs.start(request.localId);
    if (!(HANDING_OUT in request)) for (const listener of this.acceptedListeners) listener(request, messages);
    if (!(HANDING_OUT in request) && !this.closing.signal.aborted) {
      // Tracked like a receipt, so closing waits for it.
      const task: Promise<void> = this.tickets
        .handOutWith(request)
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

  /**
   * Version-1 receipts with the session each came in. With per-device sessions a receipt from a device's
   * session also acknowledges that device's copy of the part (the refs of the part sealed in that session):
   * only a reader of the copy knows the acknowledge id. The session's acknowledgement vector would say the
   * same, but it covers only the epoch the device receives in now, so a copy it opened late (a re-post
   * after its ratchet stepped) is never in it and would be re-posted until re-posting ends.
   */
  noteSessionReceipts(receipts: readonly { receipt: Receipt; sessionId: string }[]): void {
    const { stateStore } = this.options;
    for (const { receipt, sessionId } of receipts) {
      const localId = stateStore.outboxIdOf(receipt.identityId, receipt.senderKey, receipt.acknowledgeId);
      const record = localId ? stateStore.outboxRecord(localId) : undefined;
      if (!localId || !record || !isPerDevice(record)) continue;
      const part = record.acknowledgeIds.indexOf(receipt.acknowledgeId);
      if (part < 0) continue;
      const refs = record.refs.filter((ref, index) => index % record.parts === part && ref.startsWith(`${sessionId}/`));
      if (refs.length > 0) this.acknowledge(localId, refs, 'receipt');
    }
  }

  /** Marks acknowledge ids of a message as acknowledged; delivered once all are. */
  private acknowledge(localId: string, acknowledgeIds: readonly string[], via: 'receipt' | 'ackv'): void {
    const { stateStore } = this.options;
    const record = stateStore.outboxRecord(localId);
    if (!record || (record.deliveredAt !== null && !isPerDevice(record))) return;
    const known = acknowledgeIds.filter((id) => (record.acknowledgeIds.includes(id) || record.refs.includes(id)) && !record.acked.includes(id));
    if (known.length === 0) return;
    const acked = [...new Set([...record.acked, ...known])];
    let next: StoredOutboxRecord = { ...record, acked, updatedAt: this.options.now() };
    if (record.deliveredAt !== null) {
      // Delivered already: another device of the contact acknowledged its own copy. Its bytes go, and
      // re-posting stops once every device has.
      next = dropDone(next);
      if (!awaitsPosts(next)) next = { ...dropSealed(next, 'none'), nextRepostAt: null };
      void stateStore.putOutboxRecord(localId, next).catch(() => undefined);
      return;
    }
    // Every piece, by its receipt or (version 1) by the peer's acknowledgement vector.
    // With per-device sessions a part is in once any device of the contact acknowledged it.
    const delivered =
      next.pieces.length > 0
        ? Array.from({ length: next.parts }, (_, part) => part).every((part) => devicePieces(next, part).some((index) => pieceAcked(next, index)))
        : next.acknowledgeIds.every((id) => acked.includes(id));
    if (delivered) {
      next = dropDone({ ...next, pendingPdus: [], deliveredAt: this.options.now() });
      if (awaitsPosts(next)) {
        // Per-device sessions: the user sees it delivered, but a device of the contact has not
        // acknowledged its own copy. The posting job goes on with that copy if it is still out, and
        // the re-posts carry it until that device acknowledges (or re-posting ends).
        if (next.nextRepostAt === null && isPosted(next)) next = this.reposter.schedule(next, this.options.now());
      } else {
        next = { ...dropSealed(next, 'none'), nextRepostAt: null };
        const job = this.jobs.get(localId);
        if (job) {
          job.delivered = true;
          job.abort.abort();
        }
      }
    }
    void stateStore.putOutboxRecord(localId, next).catch(() => undefined);
    if (delivered) this.options.emit('outbox/delivered', { localId, via });
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
   * Owes a `box_ack` for a received message (never acknowledged itself): queued in the state file,
   * then posted (receiptPosting.ts).
   */
  sendReceipt(identityId: string, recipientKey: string, dropUrls: readonly string[], acknowledgeId: string): void {
    this.receiptPosting.send(identityId, recipientKey, dropUrls, acknowledgeId);
  }

  /**
   * Posts the receipts an earlier run queued and did not post, and starts re-posting unacknowledged
   * messages (call once the state store is unlocked).
   */
  resumeReceipts(): void {
    this.receiptPosting.resumeQueued();
    // A posted message whose later copies were still going out when the engine stopped goes on with
    // them (the UI hands back only messages not posted yet).
    for (const { localId } of this.options.stateStore.outboxHolding()) {
      const record = this.options.stateStore.outboxRecord(localId);
      if (record && record.status === 'posted' && !this.jobs.has(localId) && needsPosting(record)) this.jobs.start(localId);
    }
    this.reposter.start();
  }

  /** Resolves when every receipt queued so far has been posted or given up. */
  async receiptsSettled(): Promise<void> {
    while (this.receipts.size > 0) await Promise.all([...this.receipts]);
  }

  /**
   * Posts a PDU the engine made by itself (a version-1 PING, DROPS_REQ, device news, an answer to a
   * stale prekey) from `to.identityId` to the contact `to.contactKey`, with the receipts' retry
   * policy: best effort, tracked like a receipt so closing waits for it.
   */
  postOwn(dropUrls: readonly string[], pdu: Uint8Array, to?: { identityId: string; contactKey: string }): Promise<void> {
    const signal = this.closing.signal;
    // A PDU to a contact's closed drop goes with a ticket that contact handed the identity it comes
    // from, else it would spend one of the drop's daily introductions, and a stamp (dropPoster.ts).
    const post = (url: string, bytes: Uint8Array) => this.poster.post(url, bytes, signal, to);
    const task: Promise<void> = postWithRetry({ client: this.options.client, dropUrls, pdu, post, retry: this.options.receiptRetry, budget: this.options.retryBudget, signal })
      .then(() => undefined)
      .catch((err: unknown) => this.options.logger.warn('own message not posted', { error: err instanceof Error ? err.message : 'unknown' }))
      .finally(() => this.receipts.delete(task));
    this.receipts.add(task);
    return task;
  }

  /** Stops every job; unfinished messages stay resumable by re-sending their localId. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.reposter.stop();
    const jobs = this.jobs.all();
    for (const job of jobs) job.abort.abort();
    await Promise.all(jobs.map((job) => job.done));
    await Promise.all([...this.receipts]);
    // Its worker starts again at the next stamp asked for (after an unlock).
    await this.poster.close();
  }

  /** Takes work again after `close()` (the engine was locked, now unlocked); then `resumeReceipts`. */
  resume(): void {
    if (this.closing.signal.aborted) this.closing = new AbortController();
  }
}

function waitingReason(): SendingReason {
  return {
    kind: 'waitingForContact',
    detail: 'The contact has not answered the last 128 messages; this one goes when their next message arrives.',
    retryAt: null,
  };
}
