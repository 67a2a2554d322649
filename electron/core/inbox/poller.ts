/**
 * Polls every own drop and hands what is ours to the consumer as `inbox/batch` events. A drop's
 * cursor advances only when the consumer acknowledges the batch (`inbox/ack`), so delivery is
 * at-least-once: an unacknowledged batch comes again on the next poll. Receipts requested by incoming
 * messages are sent once their batch is acknowledged (the message is then stored on our side), and
 * only those the consumer says are owed, to the addresses it names.
 */
import { randomUUID } from 'node:crypto';
import type { EventSink, IncomingMessage, OwedReceipt, ServerStatus } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { PDU_LENGTH } from '../../../shared/protocol/boxTypes.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { BOX_ACK, NO_ACKNOWLEDGE_ID } from '../../../shared/protocol/message.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { StateStore } from '../state/stateStore.js';
import type { DropClient, FetchOptions, FetchResult } from '../net/dropClient.js';
import type { PushConnection } from '../net/network.js';
import type { BackoffPolicy } from './backoff.js';
import { BatchCollector, type LocalIdentity } from './batchOpener.js';
import { Claim, type SessionReceiver } from '../sessions/receiver.js';
import { DropWatcher } from './dropWatcher.js';

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

/** One request for one drop's messages after `since` (the drop client's `fetch`, or the budget's). */
export type DropFetch = (dropUrl: string, since: string | null, options: FetchOptions) => Promise<FetchResult>;

/**
 * Bounds one poll whatever the server sends: pages, bytes (64 MB, about 31,000 messages) and the
 * messages for us it holds. The next poll goes on from the cursor of the last page read whole.
 */
const MAX_PAGES_PER_POLL = 32;
const MAX_BYTES_PER_POLL = 64 << 20;
const MAX_KEPT_PER_POLL = 20_000;
/** PDUs trial-opened together while an answer streams in (about 2 MB). */
const OPEN_CHUNK = 1024;
/**
 * Chunks being opened while reading goes on: the workers decrypt one page while the next downloads.
 * Enough to keep every worker busy (the pool spreads a chunk over all of them); about 2 MB each.
 */
const CHUNKS_IN_FLIGHT = 3;
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

export class Poller {
  private readonly watchers = new Map<string, DropWatcher>();
  private readonly pending = new Map<string, PendingBatch>();
  /** Drops with PDUs left unread while another batch held their session: polled after each acknowledgement. */
  private readonly readAgain = new Set<string>();
  private readonly ackedSequence = new Map<string, number>();
  private readonly servers = new Map<string, ServerStatus>();
  /** PDUs counted as malformed (by ephemeral key), so a page read again does not count them twice. */
  private readonly malformedSeen = new Set<string>();
  private sequence = 0;
  private paused = false;
  private seen: Set<string> | null = null;
  private retirementTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: PollerOptions) {}

  get isPaused(): boolean {
    return this.paused;
  }

  /** Starts watchers for new own drops and stops those of deleted identities. */
  async sync(): Promise<void> {
    const { stateStore } = this.options;
    this.seen ??= new Set(stateStore.seenKeys());
    const settings = stateStore.settings();
    // Removed drops are read on for a while (StateStore.setDropUrls); a timer drops them when that ends.
    const wanted = new Set(stateStore.readDropUrls(this.options.now()));
    this.scheduleRetirement();
    for (const [dropUrl, watcher] of this.watchers) {
      if (wanted.has(dropUrl)) continue;
      this.watchers.delete(dropUrl);
      await watcher.stop();
    }
    const wantedServers = new Set([...wanted].map((dropUrl) => parseDropUrl(dropUrl).serverUrl));
    for (const serverUrl of this.servers.keys()) if (!wantedServers.has(serverUrl)) this.servers.delete(serverUrl);
    for (const dropUrl of wanted) {
      if (this.watchers.has(dropUrl)) continue;
      if (this.options.budgeted?.()) {
        this.updateServer(dropUrl, {});
        continue;
      }
      const watcher = new DropWatcher({
        dropUrl,
        poll: async (url) => void (await this.pollDrop(url)),
        intervalMs: () => stateStore.settings().pollIntervalMs,
        usePush: settings.push,
        pushConnection: (url) => this.options.pushConnection(url),
        backoff: this.options.backoff,
        onResult: (url, result) => this.recordResult(url, result),
        onPushChange: (url, connected) => this.updateServer(url, { pushConnected: connected }),
      });
      this.watchers.set(dropUrl, watcher);
      if (!this.paused) watcher.start();
      this.updateServer(dropUrl, {});
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
    this.pending.clear();
    this.options.sessions?.forget();
    this.seen = null;
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
    const granted = this.introsGranted();
    return [...this.servers.entries()].map(([serverUrl, status]) => {
      const introPerDay = granted.get(serverUrl) ?? status.introPerDay;
      return { ...status, ...(introPerDay !== undefined ? { introPerDay } : {}) };
    });
  }

  /** Per server, the introductions a day its claims of our closed drops were granted (the least, when several). */
  private introsGranted(): Map<string, number> {
    const granted = new Map<string, number>();
    if (this.options.stateStore.locked) return granted;
    for (const identity of this.options.stateStore.identities()) {
      for (const claim of this.options.stateStore.closedDrops(identity.id)) {
        const { serverUrl } = parseDropUrl(claim.url);
        granted.set(serverUrl, Math.min(granted.get(serverUrl) ?? Infinity, claim.introPerDay));
      }
    }
    return granted;
  }

  /**
   * The consumer stored batch `batchId`: advance its drop's cursor and send the receipts the consumer
   * says are owed (only for messages of this batch that asked for one, seen for the first time), to the
   * drop URLs the consumer gives: never to a URL a message claims for itself.
   */
  async acknowledge(batchId: string, owed: readonly OwedReceipt[] = []): Promise<void> {
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
    for (const dropUrl of this.readAgain) this.watchers.get(dropUrl)?.pollNow();
    this.readAgain.clear();
    const newest = (this.ackedSequence.get(batch.dropUrl) ?? -1) < batch.sequence;
    if (newest) this.ackedSequence.set(batch.dropUrl, batch.sequence);
    const fresh = batch.dedupeKeys.filter((key) => !this.seen!.has(key));
    for (const key of fresh) this.seen!.add(key);
    await this.options.stateStore.acknowledge(batch.dropUrl, newest ? batch.latest : null, fresh);
    if (this.seen!.size > MAX_SEEN_IN_MEMORY) this.seen = new Set(this.options.stateStore.seenKeys());
    const freshSet = new Set(fresh);
    const wanted = new Map(batch.receiptsToSend.map((message) => [message.dedupeKey, message]));
    for (const { dedupeKey, dropUrls } of owed) {
      const message = wanted.get(dedupeKey);
      if (!message || !freshSet.has(dedupeKey)) continue;
      wanted.delete(dedupeKey);
      this.options.sendReceipt(message.identityId, message.senderKey, dropUrls, message.acknowledgeId);
    }
  }

  /**
   * Polls every own drop once, from `since` instead of the stored cursors when given (the CLI's
   * `fetch --since`: one cursor for all drops, or one per drop URL). Resolves after the batches were emitted, with each drop's newest cursor.
   */
  async fetchOnce(since?: FetchSince): Promise<Map<string, string | null>> {
    this.seen ??= new Set(this.options.stateStore.seenKeys());
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
    this.seen ??= new Set(this.options.stateStore.seenKeys());
    const started = this.options.now();
    try {
      await this.pollDrop(dropUrl, undefined, { fetch, maxPages: 1 });
      this.recordResult(dropUrl, { ok: true, latencyMs: this.options.now() - started });
    } catch (err) {
      this.recordResult(dropUrl, { ok: false, error: err instanceof Error ? err.message : 'poll failed' });
      throw err;
    }
  }

  /** What the budget learnt of a server (`ServerStatus.canPad`, `canCover`). */
  noteServer(dropUrl: string, change: Pick<ServerStatus, 'canPad' | 'canCover' | 'introPerDay'>): void {
    this.updateServer(dropUrl, change);
  }

  /**
   * Fetches and opens one drop, following the server's pages (a server may cap one answer, e.g. at
   * 1000 messages) until nothing newer is left or a bound of this poll is reached; PDUs are opened
   * while they stream in, and the next page is asked for while this one is still being opened.
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
    const collector = new BatchCollector({
      v1: sessions ? { receiver: sessions, claim } : undefined,
      dropUrl,
      identities,
      seen: this.seen!,
      pool: this.options.pool,
      now: this.options.now(),
      chunkSize: OPEN_CHUNK,
      chunksInFlight: CHUNKS_IN_FLIGHT,
      maxKept: MAX_KEPT_PER_POLL,
    });
    /** Pages read whole: their cursors, and where their PDUs end in the collector's order. */
    const pages: { latest: string; end: number }[] = [];
    let bytesLeft = MAX_BYTES_PER_POLL;
    const fetch: DropFetch = source?.fetch ?? ((url, from, options) => this.options.client().fetch(url, from, options));
    for (let page = 0, cursor = since; page < (source?.maxPages ?? MAX_PAGES_PER_POLL) && bytesLeft > 0; page++) {
      let pdusInPage = 0;
      const result = await fetch(dropUrl, cursor, {
        maxBytes: bytesLeft,
        // Anything not PDU-sized is not a message for anyone (PROTOCOL.md section 3): not worth holding.
        onItem: (item) => {
          if (item.body.length !== PDU_LENGTH) return undefined;
          pdusInPage++;
          return collector.add(item.body);
        },
      });
      if (result.status !== 'messages') break;
      bytesLeft -= result.bytes;
      // A page read only in part: its cursor would skip what was not read, so the next poll reads it again.
      if (!result.complete || collector.firstDropped < Infinity) break;
      // Without a cursor the server cannot page; asking again would return the same messages.
      if (result.latest === null || result.latest === cursor) break;
      pages.push({ latest: result.latest, end: collector.added });
      cursor = result.latest;
      // A page without one message-sized part gives no reason to ask for more now (a hostile server
      // could page through junk forever); the next poll goes on from here.
      if (pdusInPage === 0) break;
    }
    const opened = await collector.finish();
    if (collector.deferredForSession) this.readAgain.add(dropUrl);
    for (const again of opened.shownAgain) this.options.receiptAgain?.(again.identityId, again.senderKey, again.acknowledgeId);
    const malformed = opened.malformed.filter((key) => !this.malformedSeen.has(key));
    if (malformed.length > 0) {
      // Sealed for us and unreadable: a broken or hostile client of someone who has our key. Counted
      // (once, though a poll before the cursor moves on reads it again), never shown.
      if (this.malformedSeen.size > MAX_SEEN_IN_MEMORY) this.malformedSeen.clear();
      for (const key of malformed) this.malformedSeen.add(key);
      this.options.logger.warn('malformed messages dropped', { count: malformed.length });
      const serverUrl = parseDropUrl(dropUrl).serverUrl;
      this.updateServer(dropUrl, { malformedMessages: (this.servers.get(serverUrl)?.malformedMessages ?? 0) + malformed.length });
    }
    // Only pages whose every PDU was taken count: the batch may have filled up in a page still being opened.
    const latest = pages.filter((page) => page.end <= collector.firstDropped).at(-1)?.latest ?? null;
    if (opened.messages.length === 0 && opened.receipts.length === 0 && latest === null) return null;
    // A batch acknowledged while this one was being opened may already hold some of these.
    const messages = opened.messages.filter((m) => !this.seen!.has(m.dedupeKey));
    const receipts = opened.receipts.filter((r) => !this.seen!.has(r.dedupeKey));
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

  private recordResult(dropUrl: string, result: { ok: true; latencyMs: number } | { ok: false; error: string }): void {
    if (result.ok) this.updateServer(dropUrl, { reachable: true, lastPollAt: this.options.now(), latencyMs: result.latencyMs, lastError: null });
    else {
      this.options.logger.warn('poll failed', { error: result.error });
      this.updateServer(dropUrl, { reachable: false, lastPollAt: this.options.now(), lastError: result.error });
    }
  }

  private updateServer(dropUrl: string, change: Partial<ServerStatus>): void {
    const serverUrl = parseDropUrl(dropUrl).serverUrl;
    const current: ServerStatus = this.servers.get(serverUrl) ?? {
      serverUrl,
      reachable: null,
      lastPollAt: null,
      latencyMs: null,
      pushConnected: false,
      lastError: null,
      malformedMessages: 0,
    };
    const next = { ...current, ...change };
    const isNew = !this.servers.has(serverUrl);
    this.servers.set(serverUrl, next);
    // Timestamps change on every poll; the UI only needs to hear about changes of state.
    const changed =
      isNew ||
      next.reachable !== current.reachable ||
      next.pushConnected !== current.pushConnected ||
      next.lastError !== current.lastError ||
      next.malformedMessages !== current.malformedMessages ||
      next.canPad !== current.canPad ||
      next.canCover !== current.canCover ||
      next.introPerDay !== current.introPerDay;
    if (changed) this.options.emit('servers/status', this.serverStatus());
  }
}
