/**
 * The outbox's posting jobs (sender.ts): one per message being posted now, which posts its sealed
 * pieces with retries and reports `outbox/status` meanwhile (why it waits, stamping progress). A record
 * with pieces goes out as k of n copies on distinct servers, copy 1 of every piece first (copies.ts,
 * health.ts); a record from before copies (`pendingPdus`) goes out as it did then, one PDU after the
 * other to the first drop that takes it. The record on disk says how far a job got, so a job started
 * again after a restart goes on from there.
 */
import type { EventSink, SendingReason } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { Logger } from '../../../shared/log.js';
import { type DropClient, DropRequestError } from '../net/dropClient.js';
import type { RetryBudget } from '../net/retryBudget.js';
import type { StampProgress } from '../spam/stamper.js';
import type { StoredOutboxRecord } from '../state/stateSchema.js';
import type { StateStore } from '../state/stateStore.js';
import { awaitsAcknowledgement, awaitsPosts, chooseSealed, copiesOf, dropDone, dropSealed, freeTargets, isPosted, sealedAt, statusEvent, tiedCopies } from './copies.js';
import type { DropPoster } from './dropPoster.js';
import type { ServerHealthBook } from './health.js';
import { type RetryPolicy, RetryNudge, postWithRetry } from './postWithRetry.js';
import type { Reposter } from './reposter.js';
import { sendingReasonOf } from './sendingReason.js';

export interface PostingJobsOptions {
  stateStore: StateStore;
  client(): DropClient;
  emit: EventSink;
  retry: RetryPolicy;
  /** Retries per destination server, shared by messages and receipts. */
  retryBudget: RetryBudget;
  now(): number;
  logger: Logger;
  health: ServerHealthBook;
  reposter: Reposter;
  poster: DropPoster;
  /** Aborted while the outbox closes (a new signal after each `resume`). */
  closing(): AbortSignal;
}

/** Stamp progress goes to the UI at most this often (the worker reports every ~30 ms). */
const STAMP_PROGRESS_EVERY_MS = 250;

export interface Job {
  abort: AbortController;
  cancelled: boolean;
  done: Promise<void>;
  nudge: RetryNudge;
  /** What the last failed attempt met, while the message waits for the next one. */
  reason: SendingReason | null;
  /** The recipient acknowledged it meanwhile: no more copies are needed. */
  delivered: boolean;
}

export class PostingJobs {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly options: PostingJobsOptions) {}

  /** The job posting this message now, if any. */
  get(localId: string): Job | undefined {
    return this.jobs.get(localId);
  }

  has(localId: string): boolean {
    return this.jobs.has(localId);
  }

  /** Every job running now. */
  all(): Job[] {
    return [...this.jobs.values()];
  }

  start(localId: string): void {
    const job: Job = { abort: new AbortController(), cancelled: false, done: Promise.resolve(), nudge: new RetryNudge(), reason: null, delivered: false };
    this.jobs.set(localId, job);
    const record = this.options.stateStore.outboxRecord(localId);
    const run = record && record.pieces.length > 0 ? this.runCopies(localId, job) : this.runJob(localId, job);
    job.done = run.finally(() => this.jobs.delete(localId));
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
    const stopped = () => job.cancelled || job.delivered || this.options.closing().aborted;
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
        const from = { identityId: snapshot.identityId, contactKey: snapshot.recipientKey };
        let dropUrl: string;
        try {
          dropUrl = await postWithRetry({
            client: this.options.client,
            dropUrls: this.options.health.rank(free.map((target) => snapshot.targets[target]!)),
            pdu: new Uint8Array(0),
            post: (url, bytes) => this.options.poster.post(url, bytes, job.abort.signal, from, first ? this.stampReporter(localId, job, url) : undefined),
            pduFor: (url) => {
              const sealed = chooseSealed(snapshot, piece, targetOf(url), tied);
              if (sealed === null) return null;
              chosen.set(url, sealed);
              return sealedAt(piece, sealed);
            },
            onOutcome: (url, ok, latencyMs, failure) => {
              // A refusal by our own address guard says nothing about the server.
              if (!(failure instanceof DropRequestError && failure.kind === 'refused')) this.options.health.record(url, ok, latencyMs);
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
          if (current.deliveredAt !== null && awaitsPosts(current)) {
            // Per-device sessions: another device of the contact acknowledged its copy already; this
            // device's copy waits for the re-posts (which try a free server again).
            await stateStore.putOutboxRecord(localId, this.options.reposter.schedule(current, this.options.now()));
            return;
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
        if (isPosted(record) && record.status !== 'posted') record = this.options.reposter.schedule({ ...record, status: 'posted' }, at);
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
    const kept = !awaitsAcknowledgement(record) || !awaitsPosts(record) ? dropSealed(record, 'none') : dropDone(all ? dropSealed(record, 'placed') : record);
    await stateStore.putOutboxRecord(localId, { ...kept, updatedAt: this.options.now() });
    this.options.reposter.enforceBounds();
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
          post: (url, bytes) => this.options.poster.post(url, bytes, job.abort.signal, { identityId: record!.identityId, contactKey: record!.recipientKey }, this.stampReporter(localId, job, url)),
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
      if (job.cancelled || this.options.closing().aborted) return;
      const error = err instanceof ApiFailure || err instanceof Error ? err.message : 'Sending failed.';
      await stateStore.putOutboxRecord(localId, { ...record, status: 'failed', updatedAt: this.options.now() });
      emit('outbox/status', { localId, status: 'failed', error });
    }
  }
}

/**
 * The pieces of one part: one, or (per-device sessions, sessions/devices.ts) one per device of the
 * contact, device after device (`pieces[d * parts + part]`).
 */
export function devicePieces(record: StoredOutboxRecord, part: number): number[] {
  const devices = record.parts > 0 ? Math.max(1, Math.floor(record.pieces.length / record.parts)) : 1;
  return Array.from({ length: devices }, (_, d) => d * record.parts + part).filter((index) => index < record.pieces.length);
}
