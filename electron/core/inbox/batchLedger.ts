/**
 * The inbox's at-least-once delivery: the batches handed to the consumer as `inbox/batch` events and
 * not acknowledged yet, the dedupe keys of what was acknowledged, and what an acknowledgement does:
 * the batch's session changes committed, its drop's cursor moved on (never back), and the receipts
 * the consumer says are owed sent. An unacknowledged batch is read again by a later poll.
 */
import { randomUUID } from 'node:crypto';
import type { EventSink, IncomingMessage, OwedReceipt } from '../../../shared/ipc/contract.js';
import { BOX_ACK, NO_ACKNOWLEDGE_ID } from '../../../shared/protocol/message.js';
import type { StateStore } from '../state/stateStore.js';
import type { Claim, SessionReceiver } from '../sessions/receiver.js';
import type { OpenedBatch } from './batchOpener.js';

export interface BatchLedgerOptions {
  stateStore: StateStore;
  emit: EventSink;
  /** Sends a `box_ack` for a stored message that asked for one, to the drop URLs the consumer gave. */
  sendReceipt(identityId: string, senderKey: string, dropUrls: readonly string[], acknowledgeId: string): void;
  /** Version-1 sessions: committed with each acknowledgement (absent: v0 only). */
  sessions?: SessionReceiver;
  /** Polls a drop at once (its watcher's `pollNow`). */
  pollAgain(dropUrl: string): void;
}

/** Unacknowledged batches kept; a consumer that never acks gets newer, overlapping batches anyway. */
const MAX_PENDING_BATCHES = 256;
/** In-memory dedupe keys before they are trimmed back to the persisted (bounded) list. */
const MAX_SEEN_IN_MEMORY = 20_000;

interface PendingBatch {
  dropUrl: string;
  /** Emission order within the drop: acking an older batch never moves the cursor back. */
  sequence: number;
  latest: string | null;
  dedupeKeys: string[];
  receiptsToSend: IncomingMessage[];
}

export class BatchLedger {
  private readonly pending = new Map<string, PendingBatch>();
  /** Drops with PDUs left unread while another batch held their session: polled after each acknowledgement. */
  private readonly readAgain = new Set<string>();
  private readonly ackedSequence = new Map<string, number>();
  private sequence = 0;
  private seenKeys: Set<string> | null = null;

  constructor(private readonly options: BatchLedgerOptions) {}

  /** Loads the acknowledged dedupe keys from the state store, unless they are in memory already. */
  loadSeen(): void {
    this.seenKeys ??= new Set(this.options.stateStore.seenKeys());
  }

  /** The acknowledged dedupe keys (after `loadSeen`). */
  get seen(): ReadonlySet<string> {
    return this.seenKeys!;
  }

  /**
   * Forgets what polls decrypted (the engine locks): batches not acknowledged yet are read again after
   * the next unlock, and dedupe keys come back from the state store.
   */
  forget(): void {
    this.pending.clear();
    this.options.sessions?.forget();
    this.seenKeys = null;
  }

  /** `dropUrl` left PDUs unread for a session another batch holds: it is polled after the next acknowledgement. */
  readAfterAck(dropUrl: string): void {
    this.readAgain.add(dropUrl);
  }

  /**
   * Hands a poll's messages and receipts to the consumer as one batch, or moves the cursor on at once
   * when there is nothing to store. `settled.done` turns true once `claim` is committed or bound to
   * the batch; until then the caller still owns it. Returns the newest cursor (null when nothing was newer).
   */
  async deliver(dropUrl: string, claim: Claim, opened: OpenedBatch, latest: string | null, settled: { done: boolean }): Promise<string | null> {
    const { sessions, stateStore } = this.options;
    if (opened.messages.length === 0 && opened.receipts.length === 0 && latest === null) return null;
    // A batch acknowledged while this one was being opened may already hold some of these.
    const messages = opened.messages.filter((m) => !this.seenKeys!.has(m.dedupeKey));
    const receipts = opened.receipts.filter((r) => !this.seenKeys!.has(r.dedupeKey));
    const sequence = ++this.sequence;
    if (messages.length === 0 && receipts.length === 0) {
      // Nothing for the consumer to store: the cursor may move on at once (and never back), after the
      // session changes (PINGs, acknowledgements) are durable.
      await sessions?.commit(claim);
      settled.done = true;
      this.ackedSequence.set(dropUrl, sequence);
      if (latest !== null) await stateStore.acknowledge(dropUrl, latest, []);
      return latest;
    }
    const batchId = randomUUID();
    if (this.pending.size >= MAX_PENDING_BATCHES) {
      const oldest = this.pending.keys().next().value!;
      this.pending.delete(oldest);
      sessions?.releaseBatch(oldest);
    }
    sessions?.bind(claim, batchId);
    settled.done = true;
    this.pending.set(batchId, {
      dropUrl,
      sequence,
      latest,
      dedupeKeys: [...messages.map((m) => m.dedupeKey), ...receipts.map((r) => r.dedupeKey)],
      receiptsToSend: messages.filter((m) => m.acknowledgeId !== NO_ACKNOWLEDGE_ID && m.type !== BOX_ACK),
    });
    this.options.emit('inbox/batch', { batchId, messages, receipts: receipts.map((r) => r.receipt) });
    return latest;
  }

  /**
   * The consumer stored batch `batchId`: advance its drop's cursor and send the receipts the consumer
   * says are owed (only for messages of this batch that asked for one, seen for the first time), to the
   * drop URLs the consumer gives: never to a URL a message claims for itself.
   */
  async acknowledge(batchId: string, owed: readonly OwedReceipt[]): Promise<void> {
    const batch = this.pending.get(batchId);
    if (!batch) return; // already acknowledged, or from before a restart: nothing left to do
    for (const [id, other] of this.pending) {
      if (other.dropUrl !== batch.dropUrl || other.sequence > batch.sequence) continue;
      this.pending.delete(id);
      // An older batch of this drop is acknowledged by this one only as far as the cursor goes: its
      // uncommitted session changes are forgotten and its PDUs opened again if still unread.
      if (id !== batchId) this.options.sessions?.releaseBatch(id);
    }
    // Sessions first: a crash before the cursor is written reads the batch again, and its PDUs are
    // then duplicates of the stored messages; the other order would lose them.
    await this.options.sessions?.commitBatch(batchId);
    for (const dropUrl of this.readAgain) this.options.pollAgain(dropUrl);
    this.readAgain.clear();
    const newest = (this.ackedSequence.get(batch.dropUrl) ?? -1) < batch.sequence;
    if (newest) this.ackedSequence.set(batch.dropUrl, batch.sequence);
    const fresh = batch.dedupeKeys.filter((key) => !this.seenKeys!.has(key));
    for (const key of fresh) this.seenKeys!.add(key);
    await this.options.stateStore.acknowledge(batch.dropUrl, newest ? batch.latest : null, fresh);
    if (this.seenKeys!.size > MAX_SEEN_IN_MEMORY) this.seenKeys = new Set(this.options.stateStore.seenKeys());
    const freshSet = new Set(fresh);
    const wanted = new Map(batch.receiptsToSend.map((message) => [message.dedupeKey, message]));
    for (const { dedupeKey, dropUrls } of owed) {
      const message = wanted.get(dedupeKey);
      if (!message || !freshSet.has(dedupeKey)) continue;
      wanted.delete(dedupeKey);
      this.options.sendReceipt(message.identityId, message.senderKey, dropUrls, message.acknowledgeId);
    }
  }
}
