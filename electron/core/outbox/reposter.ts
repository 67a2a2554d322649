/**
 * Re-posting (PROTOCOL-V1.md 1c "Reliability (ARQ)", 2c): a posted message the recipient has not
 * acknowledged goes again to the same drops, with the very same bytes, every `intervalMs` (TTL/2 =
 * 3.5 days by default, so a copy is back before a 7-day server TTL could have expired the last one),
 * until a receipt (or, in version 1, the contact's acknowledgement vector) covers it, the user
 * cancels it, or `forMs` (30 days) have passed. A contact offline for two weeks therefore still finds
 * the message, and a server that said 200 and lost it is repaired by the next re-post. The receiver
 * shows it once: version 0 dedupes by (sender, acknowledge_id), version 1 by tag and msg_id.
 *
 * Only messages that something will acknowledge are re-posted: those asking for a receipt, and in
 * version 1 every message (the peer's acknowledgement vector covers it). Nothing would acknowledge a
 * version-0 message without receipt, so re-posting it could only stop at the time limit, at every
 * contact's cost.
 *
 * Re-posting keeps sealed pieces in the state file after posting. The file stays bounded: at most
 * `maxMessages` messages and `maxBytes` of sealed bytes are kept for re-posting; beyond that the
 * oldest give way (their status says `storageLimit`). Records change under the state file's usual
 * rules: a re-post noted just before a crash may be made again after it, the same bytes.
 *
 * The clock is the engine's (`now`), checked every `checkMs` of real time, so tests and simulations
 * move days ahead without waiting for them. No probing: a re-post is a real POST of our own message.
 */
import type { EventSink } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import type { DropClient } from '../net/dropClient.js';
import type { StoredOutboxRecord } from '../state/stateSchema.js';
import type { StateStore } from '../state/stateStore.js';
import { awaitsAcknowledgement, awaitsPosts, chooseSealed, dropSealed, freeTargets, pieceDone, sealedAt, statusEvent, tiedCopies } from './copies.js';
import type { ServerHealthBook } from './health.js';

export interface RepostPolicy {
  /** Between two posts of an unacknowledged message (default 3.5 days: half the protocol's TTL). */
  intervalMs: number;
  /** Re-posting stops this long after the message was first posted (default 30 days). */
  forMs: number;
  /** How often (real time) the engine looks for re-posts due (default 1 minute). */
  checkMs: number;
  /** Messages kept for re-posting (default 1000). */
  maxMessages: number;
  /**
   * Bytes of sealed pieces kept for re-posting (base64 in the state file; default 4 MiB, about 700
   * messages of two copies). The whole state file is rewritten with every change: measured on the
   * 2-core VM, a write takes 6 ms at 1 MiB, 40 ms at 3.5 MiB and 63 ms at 9 MiB.
   */
  maxBytes: number;
}

const DAY_MS = 24 * 3600_000;
export const DEFAULT_REPOST: RepostPolicy = { intervalMs: 3.5 * DAY_MS, forMs: 30 * DAY_MS, checkMs: 60_000, maxMessages: 1000, maxBytes: 4 << 20 };

export interface ReposterOptions {
  stateStore: StateStore;
  client(): DropClient;
  health: ServerHealthBook;
  emit: EventSink;
  now(): number;
  logger: Logger;
  policy: RepostPolicy;
  /** True while the outbox is sending this message (its copies are not all out yet). */
  busy(localId: string): boolean;
  /**
   * One POST of a copy of `record` (the outbox's, which uses the contact's tickets and stamps when a
   * server asks); default `client().post`. @throws DropRequestError
   */
  post?(dropUrl: string, pdu: Uint8Array, record: StoredOutboxRecord): Promise<void>;
  /**
   * Piece `index` of `record` is for a device of the contact that their list removed since (per-device
   * sessions): it is re-posted no more. Absent: none is.
   */
  gone?(record: StoredOutboxRecord, index: number): boolean;
}

export class Reposter {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly reposting = new Set<string>();

  constructor(private readonly options: ReposterOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.policy.checkMs);
    this.timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** A message whose re-posts are being made now (cancel and acknowledgements wait for none). */
  isReposting(localId: string): boolean {
    return this.reposting.has(localId);
  }

  /** Makes the re-posts that are due, and keeps the kept bytes within bounds. One check at a time. */
  check(): Promise<void> {
    this.running ??= this.checkOnce()
      .catch((err: unknown) => this.options.logger.warn('re-posting failed', { error: err instanceof Error ? err.message : 'unknown' }))
      .finally(() => (this.running = null));
    return this.running;
  }

  /** First schedule of a message whose every piece is on a server (from `postedAt`). */
  schedule(record: StoredOutboxRecord, postedAt: number): StoredOutboxRecord {
    if (!awaitsAcknowledgement(record) || !awaitsPosts(record) || record.nextRepostAt !== null) return record;
    const { intervalMs, forMs } = this.options.policy;
    return { ...record, nextRepostAt: postedAt + intervalMs, repostUntil: postedAt + forMs };
  }

  /**
   * Keeps at most `maxMessages` messages and `maxBytes` for re-posting: the oldest kept give way.
   * Messages still being sent are not counted and never give way (their pieces are what is sent).
   */
  enforceBounds(): void {
    const { stateStore, policy } = this.options;
    if (stateStore.locked) return;
    const kept = stateStore.outboxHolding().filter((entry) => entry.reposting);
    let bytes = kept.reduce((sum, entry) => sum + entry.bytes, 0);
    let count = kept.length;
    for (const entry of kept) {
      if (count <= policy.maxMessages && bytes <= policy.maxBytes) break;
      if (this.reposting.has(entry.localId)) continue;
      this.end(entry.localId, 'storageLimit');
      count--;
      bytes -= entry.bytes;
    }
  }

  /** Stops re-posting a message and forgets its bytes (they are not needed any more). */
  end(localId: string, why: 'timeLimit' | 'storageLimit' | 'cancelled'): StoredOutboxRecord | null {
    const { stateStore } = this.options;
    const record = stateStore.outboxRecord(localId);
    if (!record) return null;
    const ended: StoredOutboxRecord = { ...dropSealed(record, 'none'), nextRepostAt: null, repostEnded: why, updatedAt: this.options.now() };
    void stateStore.putOutboxRecord(localId, ended).catch(() => undefined);
    // A message the user sees delivered (a device of the contact still lacking its copy) stays so.
    if (record.deliveredAt === null) this.options.emit('outbox/status', statusEvent(localId, ended));
    return ended;
  }

  private async checkOnce(): Promise<void> {
    const { stateStore } = this.options;
    if (stateStore.locked) return;
    this.enforceBounds();
    for (const { localId, reposting } of stateStore.outboxHolding()) {
      if (!reposting || this.options.busy(localId) || stateStore.locked) continue;
      const record = stateStore.outboxRecord(localId);
      if (!record || record.nextRepostAt === null || !awaitsPosts(record)) continue;
      const now = this.options.now();
      if (record.repostUntil !== null && now >= record.repostUntil) {
        this.end(localId, 'timeLimit');
        continue;
      }
      if (now < record.nextRepostAt) continue;
      this.reposting.add(localId);
      try {
        await this.repost(localId, record);
      } finally {
        this.reposting.delete(localId);
      }
    }
  }

  /**
   * One re-post: every copy of every unacknowledged piece, its identical bytes to its drop (one
   * attempt each: the next is due at the next interval anyway); a copy that never got out tries one
   * free server. Then the next re-post is scheduled.
   */
  private async repost(localId: string, record: StoredOutboxRecord): Promise<void> {
    const { stateStore, health } = this.options;
    const placedNow: { piece: number; target: number; sealed: number }[] = [];
    for (let index = 0; index < record.pieces.length; index++) {
      if (pieceDone(record, index) || this.options.gone?.(record, index) === true) continue;
      const piece = record.pieces[index]!;
      for (const placed of piece.placed) {
        const bytes = new Uint8Array(Buffer.from(piece.sealed[placed.sealed] ?? '', 'base64'));
        if (bytes.length === 0) continue;
        await this.post(record.targets[placed.target]!, bytes, record);
      }
      const tied = tiedCopies(piece);
      for (let slot = piece.placed.length; slot < record.wanted; slot++) {
        const free = freeTargets(record, piece).filter((target) => ![...tied.values()].includes(target));
        const target = health.rank(free.map((t) => record.targets[t]!)).map((url) => record.targets.indexOf(url))[0];
        if (target === undefined) break;
        const sealed = chooseSealed(record, piece, target, tied);
        if (sealed === null) break;
        tied.set(sealed, target);
        if (await this.post(record.targets[target]!, sealedAt(piece, sealed), record)) placedNow.push({ piece: index, target, sealed });
      }
    }
    // Acknowledged or cancelled meanwhile: those changes stand, this re-post is not written over them.
    const current = stateStore.outboxRecord(localId);
    if (!current || !awaitsPosts(current) || current.nextRepostAt === null) return;
    const now = this.options.now();
    const pieces = current.pieces.map((piece, index) => ({
      ...piece,
      placed: [...piece.placed, ...placedNow.filter((p) => p.piece === index).map((p) => ({ target: p.target, sealed: p.sealed, at: now }))],
    }));
    const next: StoredOutboxRecord = { ...current, pieces, nextRepostAt: now + this.options.policy.intervalMs, updatedAt: now };
    await stateStore.putOutboxRecord(localId, next);
    if (next.deliveredAt === null) this.options.emit('outbox/status', statusEvent(localId, next));
  }

  private async post(dropUrl: string, pdu: Uint8Array, record: StoredOutboxRecord): Promise<boolean> {
    const started = performance.now();
    try {
      await (this.options.post ? this.options.post(dropUrl, pdu, record) : this.options.client().post(dropUrl, pdu));
      this.options.health.record(dropUrl, true, performance.now() - started);
      return true;
    } catch {
      this.options.health.record(dropUrl, false, performance.now() - started);
      return false;
    }
  }
}
