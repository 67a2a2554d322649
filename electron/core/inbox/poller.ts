/**
 * Polls every own drop and hands what is ours to the consumer as `inbox/batch` events. A drop's
 * cursor advances only when the consumer acknowledges the batch (`inbox/ack`), so delivery is
 * at-least-once: an unacknowledged batch comes again on the next poll. Receipts requested by incoming
 * messages are sent once their batch is acknowledged (the message is then stored on our side), and
 * only those the consumer says are owed, to the addresses it names.
 *
 * This file schedules: a watcher per drop (push or timer), removed drops retired, pauses, one-off and
 * budgeted polls. Reading a drop is dropReading.ts, the batches and their acknowledgement
 * batchLedger.ts, what the UI is told of each server serverStatusBoard.ts.
 */
import type { EventSink, OwedReceipt, Receipt, ServerStatus } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { StateStore } from '../state/stateStore.js';
import type { DropClient } from '../net/dropClient.js';
import type { PushConnection } from '../net/network.js';
import type { BackoffPolicy } from './backoff.js';
import type { LocalIdentity } from './batchOpener.js';
import { Claim, type SessionReceiver } from '../sessions/receiver.js';
import { DropWatcher } from './dropWatcher.js';
import { BatchLedger } from './batchLedger.js';
import { type DropFetch, readDrop } from './dropReading.js';
import { ServerStatusBoard } from './serverStatusBoard.js';

export type { DropFetch } from './dropReading.js';

/** Where a one-off fetch starts: one cursor for every drop (null: from the start), or one per drop URL. */
export type FetchSince = string | null | ReadonlyMap<string, string | null>;

export interface PollerOptions {
  stateStore: StateStore;
  pool: CryptoPool;
  client(): DropClient;
  /** How push sockets connect (proxy tunnel or guarded lookup); throws when refused. */
  pushConnection(url: string): PushConnection;
  emit: EventSink;
  backoff: BackoffPolicy;
  /** Sends a `box_ack` for a stored message that asked for one, to the drop URLs the consumer gave. */
  sendReceipt(identityId: string, senderKey: string, dropUrls: readonly string[], acknowledgeId: string): void;
  /** A v0 message shown before came again and asks for a receipt: our receipt was lost (outbox/receiptAgain.ts). */
  receiptAgain?(identityId: string, senderKey: string, acknowledgeId: string): void;
  /** Version-1 receipts as opened, each with the session it came in (outbox/sender.ts `noteSessionReceipts`). */
  sessionReceipts?(receipts: readonly { receipt: Receipt; sessionId: string }[]): void;
  /** Version-1 sessions: opened with each poll, committed with each acknowledgement (absent: v0 only). */
  sessions?: SessionReceiver;
  now(): number;
  logger: Logger;
  /**
   * True in traffic-budget mode (electron/core/budget): no watchers, push sockets or probes; the
   * budget's slots read each drop once through `pollBudgeted`.
   */
  budgeted?(): boolean;
}

export class Poller {
  private readonly watchers = new Map<string, DropWatcher>();
  private readonly batches: BatchLedger;
  private readonly board: ServerStatusBoard;
  private paused = false;
  private retirementTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: PollerOptions) {
    this.batches = new BatchLedger({
      stateStore: options.stateStore,
      emit: options.emit,
      sendReceipt: (...receipt) => options.sendReceipt(...receipt),
      ...(options.sessions ? { sessions: options.sessions } : {}),
      pollAgain: (dropUrl) => this.watchers.get(dropUrl)?.pollNow(),
    });
    this.board = new ServerStatusBoard({
      stateStore: options.stateStore,
      emit: options.emit,
      now: () => options.now(),
      logger: options.logger,
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Starts watchers for new own drops and stops those of deleted identities. */
  async sync(): Promise<void> {
    const { stateStore } = this.options;
    this.batches.loadSeen();
    const settings = stateStore.settings();
    // Removed drops are read on for a while (StateStore.setDropUrls); a timer drops them when that ends.
    const wanted = new Set(stateStore.readDropUrls(this.options.now()));
    this.scheduleRetirement();
    for (const [dropUrl, watcher] of this.watchers) {
      if (wanted.has(dropUrl)) continue;
      this.watchers.delete(dropUrl);
      await watcher.stop();
    }
    this.board.retain(new Set([...wanted].map((dropUrl) => parseDropUrl(dropUrl).serverUrl)));
    for (const dropUrl of wanted) {
      if (this.watchers.has(dropUrl)) continue;
      if (this.options.budgeted?.()) {
        this.board.update(dropUrl, {});
        continue;
      }
      const watcher = new DropWatcher({
        dropUrl,
        poll: async (url) => void (await this.pollDrop(url)),
        intervalMs: () => stateStore.settings().pollIntervalMs,
        usePush: settings.push,
        pushConnection: (url) => this.options.pushConnection(url),
        backoff: this.options.backoff,
        onResult: (url, result) => this.board.recordResult(url, result),
        onPushChange: (url, connected) => this.board.update(url, { pushConnected: connected }),
      });
      this.watchers.set(dropUrl, watcher);
      if (!this.paused) watcher.start();
      this.board.update(dropUrl, {});
    }
  }

  /** Restarts every watcher (after a settings change: interval, push or proxy). */
  async restart(): Promise<void> {
    await this.stop();
    await this.sync();
  }

  /** Syncs again when the next removed drop is no longer to be read. */
  private scheduleRetirement(): void {
    if (this.retirementTimer) clearTimeout(this.retirementTimer);
    this.retirementTimer = null;
    const next = this.options.stateStore.nextRetirement(this.options.now());
    if (next === null) return;
    // Timers hold at most about 24.8 days; a later retirement is looked at again then.
    const delay = Math.min(Math.max(0, next - this.options.now()) + 1000, 2 ** 31 - 1);
    this.retirementTimer = setTimeout(() => {
      this.retirementTimer = null;
      if (!this.options.stateStore.locked && this.watchers.size > 0) {
        this.sync().catch((err: unknown) => this.options.logger.warn('sync after a drop retired failed', { error: err instanceof Error ? err.message : 'unknown' }));
      }
    }, delay);
    this.retirementTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.retirementTimer) clearTimeout(this.retirementTimer);
    this.retirementTimer = null;
    const watchers = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(watchers.map((watcher) => watcher.stop()));
  }

  /**
   * Stops every watcher and forgets what polls decrypted (the engine locks): batches not acknowledged
   * yet are read again after the next unlock, and dedupe keys come back from the state store.
   */
  async forget(): Promise<void> {
    await this.stop();
    this.batches.forget();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    for (const watcher of this.watchers.values()) {
      if (paused) watcher.setPaused(true);
      else {
        watcher.start();
        watcher.setPaused(false);
      }
    }
  }

  pollNow(): void {
    for (const watcher of this.watchers.values()) watcher.pollNow();
  }

  /** Resolves when no poll is running (tests and the CLI use it to wait for one round). */
  async idle(): Promise<void> {
    await Promise.all([...this.watchers.values()].map((watcher) => watcher.idle()));
  }

  serverStatus(): ServerStatus[] {
    return this.board.statuses();
  }

  /**
   * The consumer stored batch `batchId`: advance its drop's cursor and send the receipts the consumer
   * says are owed, to the drop URLs it gives (batchLedger.ts).
   */
  async acknowledge(batchId: string, owed: readonly OwedReceipt[] = []): Promise<void> {
    await this.batches.acknowledge(batchId, owed);
  }

  /**
   * Polls every own drop once, from `since` instead of the stored cursors when given (the CLI's
   * `fetch --since`: one cursor for all drops, or one per drop URL). Resolves after the batches were emitted, with each drop's newest cursor.
   */
  async fetchOnce(since?: FetchSince): Promise<Map<string, string | null>> {
    this.batches.loadSeen();
    const dropUrls = this.options.stateStore.readDropUrls(this.options.now());
    const cursors = new Map<string, string | null>();
    for (const dropUrl of dropUrls) {
      const from = since === undefined ? this.options.stateStore.cursor(dropUrl) : typeof since === 'object' && since !== null ? (since.get(dropUrl) ?? null) : since;
      cursors.set(dropUrl, (await this.pollDrop(dropUrl, from)) ?? from);
    }
    return cursors;
  }

  /** Budget mode: reads `dropUrl` with exactly one request through `fetch`, recorded like a watcher's poll. */
  async pollBudgeted(dropUrl: string, fetch: DropFetch): Promise<void> {
    this.batches.loadSeen();
    const started = this.options.now();
    try {
      await this.pollDrop(dropUrl, undefined, { fetch, maxPages: 1 });
      this.board.recordResult(dropUrl, { ok: true, latencyMs: this.options.now() - started });
    } catch (err) {
      this.board.recordResult(dropUrl, { ok: false, error: err instanceof Error ? err.message : 'poll failed' });
      throw err;
    }
  }

  /** What the budget learnt of a server (`ServerStatus.canPad`, `canCover`). */
  noteServer(dropUrl: string, change: Pick<ServerStatus, 'canPad' | 'canCover' | 'introPerDay'>): void {
    this.board.update(dropUrl, change);
  }

  /**
   * Fetches and opens one drop (dropReading.ts) and hands what is ours to the consumer (batchLedger.ts).
   * Returns the newest cursor (null when nothing was newer).
   */
  private async pollDrop(dropUrl: string, since = this.options.stateStore.cursor(dropUrl), source?: { fetch: DropFetch; maxPages: number }): Promise<string | null> {
    const claim = new Claim(dropUrl);
    const settled = { done: false };
    try {
      return await this.pollDropWith(dropUrl, since, claim, settled, source);
    } finally {
      // Neither committed nor waiting for an acknowledgement (a failed poll): forgotten, read again.
      if (!settled.done) this.options.sessions?.release(claim, true);
    }
  }

  private async pollDropWith(dropUrl: string, since: string | null, claim: Claim, settled: { done: boolean }, source?: { fetch: DropFetch; maxPages: number }): Promise<string | null> {
    const { stateStore } = this.options;
    const identities: LocalIdentity[] = stateStore.identities().map((identity) => ({ id: identity.id, pair: stateStore.keyPair(identity.id) }));
    // Keys replaced by an identity rotation are tried too until their grace ends (devices/rotation.ts).
    for (const retired of stateStore.retiredKeyPairs(this.options.now())) identities.push({ ...retired, retired: true });
    const sessions = this.options.sessions;
    const { opened, latest, deferredForSession } = await readDrop({
      dropUrl,
      since,
      fetch: source?.fetch ?? ((url, from, options) => this.options.client().fetch(url, from, options)),
      ...(source ? { maxPages: source.maxPages } : {}),
      identities,
      seen: this.batches.seen,
      pool: this.options.pool,
      now: this.options.now(),
      v1: sessions ? { receiver: sessions, claim } : undefined,
    });
    if (deferredForSession) this.batches.readAfterAck(dropUrl);
    for (const again of opened.shownAgain) this.options.receiptAgain?.(again.identityId, again.senderKey, again.acknowledgeId);
    const inSessions = opened.receipts.flatMap(({ receipt, sessionId }) => (sessionId === undefined ? [] : [{ receipt, sessionId }]));
    if (inSessions.length > 0) this.options.sessionReceipts?.(inSessions);
    this.board.countMalformed(dropUrl, opened.malformed);
    return this.batches.deliver(dropUrl, claim, opened, latest, settled);
  }
}
