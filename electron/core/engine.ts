/**
 * The engine: stateStore, crypto worker pool, drop client, poller and outbox behind one handler table
 * (`shared/ipc/contract.ts`) that every transport serves: Electron IPC, the WebSocket host of the
 * browser tests, and direct calls from the CLI and Node tests. Plain Node: never imports electron.
 */
import { FileService } from './files/fileService.js';
import { mkdir } from 'node:fs/promises';
import { type ApiHandlers, type Capabilities, type AppEventListener, type EncryptedFileRef, type EventSink, type Receipt, appEvent } from '../../shared/ipc/contract.js';
import { type Logger, createLogger } from '../../shared/log.js';
import { ApiFailure } from '../../shared/ipc/result.js';
import type { PassphraseLimits } from '../../shared/protocol/identityBackup.js';
import { buildHandlers } from './api/handlers.js';
import { consumeTickets } from './spam/ticketWallet.js';
import { type CryptoPool, createCryptoPool } from './crypto/cryptoPool.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './inbox/backoff.js';
import { type FetchSince, Poller } from './inbox/poller.js';
import { type KeyWrap, StateStore } from './state/stateStore.js';
import { passphraseKeyWrap } from './state/passphraseKeyWrap.js';
import { originsOf } from './net/destinationGuard.js';
import type { BreakerPolicy } from './net/serverBreaker.js';
import { Network } from './net/network.js';
import type { GateLimits } from './net/requestGate.js';
import { RetryBudget, type RetryBudgetPolicy } from './net/retryBudget.js';
import { DEFAULT_RETRY, type RetryPolicy } from './outbox/postWithRetry.js';
import { Sender } from './outbox/sender.js';
import { TrafficBudget } from './budget/trafficBudget.js';
import type { SlotReport, SlotTimer } from './budget/scheduler.js';
import type { RepostPolicy } from './outbox/reposter.js';
import type { HealthPolicy } from './outbox/health.js';
import { SessionStore } from './state/sessionStore.js';
import { SessionReceiver } from './sessions/receiver.js';
import { ReceiptAgain } from './outbox/receiptAgain.js';
import { PROTOCOL_V1_DEFAULT, SessionSender } from './sessions/sessionSender.js';
import { DeviceNews } from './devices/deviceNews.js';
import { KeyRotation } from './devices/rotation.js';
import { SiblingSync, followDropChanges } from './devices/sync.js';
import { RemovedIdentities, guardRemovedChannels, guardRemovedOutbox } from './devices/removedGuard.js';

export interface EngineOptions {
  /** Folder of the engine's state file (created if missing). */
  dataDir: string;
  /** Key-encryption secret; null = start locked until `app/unlock` supplies a passphrase. */
  secret: string | null;
  host: 'electron' | 'websocket' | 'direct';
  /** What the host serves beyond the engine, reported by `app/info` (none unless given). */
  capabilities?(): Capabilities;
  clock?: { now(): number };
  logger?: Logger;
  /** Crypto worker count (default: the core count). */
  workers?: number;
  /** Crypto workers started at once (default: all); the others start with the first batch to trial-open. */
  initialWorkers?: number;
  /** Crypto worker entry; the packaged app points it at a bundled .js file. */
  workerEntry?: URL;
  /** Reported by `app/info`. */
  version?: string;
  /** How the data key is sealed with the secret (default: the passphrase seal of shared/protocol). */
  keyWrap?: KeyWrap;
  /** Argon2id cost of the key wrap and of exported `.qid` files (tests use the cheapest). */
  passphraseLimits?: PassphraseLimits;
  /** Retry and timeout tuning (tests shorten them). */
  timing?: {
    pollBackoff?: BackoffPolicy;
    sendRetry?: RetryPolicy;
    receiptRetry?: RetryPolicy;
    requestTimeoutMs?: number;
    /** The traffic budget's clock and randomness (tests drive its slots with a fake clock). */
    budget?: { timer?: SlotTimer; random?: () => number; onSlot?(report: SlotReport): void };
    /** How long after a received message a version-1 PING waits for a reply (default 30-120 s). */
    pingDelayMs?: { min: number; max: number };
  };
  /**
   * Protocol version 1 (forward-secret sessions, PROTOCOL-V1.md 1c) for sending (default
   * PROTOCOL_V1_DEFAULT). Receiving version 1 is always on: it costs nothing when nobody sends it.
   */
  protocolV1?: boolean;
  /**
   * k-of-n posting and re-posting (outbox/copies.ts, outbox/reposter.ts); tests and the fault
   * simulator shorten the intervals and move `clock` ahead instead of waiting days.
   */
  outbox?: {
    /** Copies per message, overriding the `copies` setting (absent: the setting, else 2). */
    copies?: number;
    /** Re-post interval (default 3.5 days), limit (30 days), check period, and the bounds on what is kept. */
    repost?: Partial<RepostPolicy>;
    /** EWMA weight, neutral score and half-life of server health scores. */
    health?: Partial<HealthPolicy>;
  };
  /** Start polling own drops once unlocked (default true; the CLI polls on demand). */
  autoPoll?: boolean;
  /**
   * Where drop traffic may go. Servers on this computer or the local network (loopback, private,
   * link-local addresses) are contacted only when they hold one of the user's own drops, are among
   * `trustedServers`, or local networks are allowed: by the user's setting, or by the host here.
   */
  network?: {
    /** The host allows local-network servers whatever the user's setting says (test hosts on 127.0.0.1). */
    allowLocalNetwork?: boolean;
    /** Server URLs the host vouches for: the desktop app's own local drop server, contact files named on the CLI. */
    trustedServers?(): readonly string[];
    gate?: GateLimits;
    breaker?: BreakerPolicy;
    retryBudget?: RetryBudgetPolicy;
  };
}

export interface Engine {
  handlers: ApiHandlers;
  /** Adds an event listener; returns its removal. */
  subscribe(listener: AppEventListener): () => void;
  /**
   * Polls every own drop once now (from `since` instead of the stored cursors when given: one cursor
   * for every drop, or one per drop URL) and resolves after the resulting `inbox/batch` events were
   * emitted, with each drop's newest cursor.
   */
  fetchOnce(since?: FetchSince): Promise<Map<string, string | null>>;
  /** Resolves when no poll is running and every queued receipt was posted or given up. */
  settled(): Promise<void>;
  /**
   * Writes a downloaded file (`files/download`), decrypted, to `dest` (the desktop's Save As).
   * @throws ApiFailure 'not_found' when it is not downloaded
   */
  saveFile(id: string, ref: EncryptedFileRef, dest: string): Promise<void>;
  close(): Promise<void>;
}

/** The engine's running pieces that the handler table works with (its context, not message parts). */
export interface EngineContext {
  options: EngineOptions;
  stateStore: StateStore;
  pool: CryptoPool;
  network: Network;
  poller: Poller;
  sender: Sender;
  files: FileService;
  /** Version-1 sessions at rest, and their receiving side in the poller. */
  sessions: SessionStore;
  receiver: SessionReceiver;
  /** Device lists told to contacts and siblings, the injected-device alarm (devices/deviceNews.ts). */
  devices: DeviceNews;
  /** Sibling sync, the engine's half (devices/sync.ts). */
  sync: SiblingSync;
  /** Identity rotation after a lost or stolen device (devices/rotation.ts). */
  rotation: KeyRotation;
  emit: EventSink;
  now(): number;
  /** Runs after a successful unlock (starts polling). */
  started(): Promise<void>;
}

/** @throws ApiFailure when the state file is corrupt or foreign, or the secret is wrong. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const logger = options.logger ?? createLogger('engine');
  const now = () => options.clock?.now() ?? Date.now();
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  // Argon2id runs in the pool, never on this thread: the pool comes first.
  const pool = await createCryptoPool({
    size: options.workers,
    initialSize: options.initialWorkers,
    workerEntry: options.workerEntry,
    logger: createLogger('crypto-pool'),
  });
  let stateStore: StateStore;
  try {
    stateStore = await StateStore.load(options.dataDir, options.keyWrap ?? passphraseKeyWrap(options.passphraseLimits, pool.argon2id));
    if (options.secret !== null) await stateStore.unlock(options.secret);
  } catch (err) {
    await pool.close();
    throw err;
  }

  const sessions = await SessionStore.load(options.dataDir, stateStore);
  const receiver = new SessionReceiver({ stateStore, sessions, now, logger: createLogger('sessions') });
  const sinks = new Set<AppEventListener>();
  // Receipts acknowledge our outgoing messages: the outbox stops re-posting them (set once it exists).
  let noteReceipts: ((receipts: Receipt[]) => void) | null = null;
  // Device lists and their echoes are the engine's (devices/deviceNews.ts): set once it exists.
  let deviceNews: DeviceNews | null = null;
  // Sibling sync applies a sibling's drop list itself (devices/sync.ts): set once it exists.
  let siblingSync: SiblingSync | null = null;
  // Key handovers and the proof of contacts' rotations are the engine's (devices/rotation.ts).
  let keyRotation: KeyRotation | null = null;
  const emit: EventSink = (event, payload) => {
    let message = appEvent(event, payload);
    // Tickets contacts hand us go to the wallet, not to the UI (spam/ticketWallet.ts).
    if (message.event === 'inbox/batch') {
      const onError = (err: unknown) => logger.warn('tickets not kept', { error: err instanceof Error ? err.message : 'unknown' });
      const messages = consumeTickets(stateStore, message.payload.messages, now(), onError);
      if (messages !== message.payload.messages) message = appEvent('inbox/batch', { ...message.payload, messages });
    }
    if (message.event === 'inbox/batch' && deviceNews) {
      const messages = deviceNews.take(message.payload.messages);
      if (messages.length !== message.payload.messages.length) message = appEvent('inbox/batch', { ...message.payload, messages });
    }
    if (message.event === 'inbox/batch' && keyRotation) {
      const messages = keyRotation.take(message.payload.messages);
      if (messages.length !== message.payload.messages.length) message = appEvent('inbox/batch', { ...message.payload, messages });
    }
    if (message.event === 'inbox/batch') siblingSync?.take(message.payload.messages);
    if (message.event === 'inbox/batch' && message.payload.receipts.length > 0) noteReceipts?.(message.payload.receipts);
    for (const sink of sinks) {
      try {
        sink(message);
      } catch (err) {
        logger.warn('event sink failed', { event, error: err instanceof Error ? err.message : 'unknown' });
      }
    }
  };
  const network = new Network({
    timeoutMs: options.timing?.requestTimeoutMs,
    gate: options.network?.gate,
    breaker: options.network?.breaker,
    rules: {
      allowLocalNetwork: () => options.network?.allowLocalNetwork === true || (!stateStore.locked && stateStore.settings().allowLocalNetwork),
      trustedOrigins: () =>
        originsOf([...(stateStore.locked ? [] : stateStore.keptDropUrls(now())), ...(options.network?.trustedServers?.() ?? [])]),
    },
  });
  // Traffic budget (PROTOCOL-V1.md 4c): while on, every POST waits for a slot and the slots read the drops.
  const budget: TrafficBudget = new TrafficBudget({
    // Without polling of its own (the CLI's one-off commands) there are no slots to wait for.
    setting: () => (stateStore.locked || options.autoPoll === false ? null : (stateStore.settings().trafficBudget ?? null)),
    paused: () => poller.isPaused,
    proxy: () => (stateStore.locked ? { kind: 'none' } : stateStore.settings().proxy),
    guard: network.guard,
    ownDrops: () => (stateStore.locked ? [] : stateStore.readDropUrls(now())),
    readDrop: (dropUrl, fetch) => poller.pollBudgeted(dropUrl, fetch),
    noteServer: (dropUrl, features) => poller.noteServer(dropUrl, features),
    timeoutMs: options.timing?.requestTimeoutMs,
    timer: options.timing?.budget?.timer,
    random: options.timing?.budget?.random,
    onSlot: options.timing?.budget?.onSlot,
    logger: createLogger('budget'),
  });
  const sender: Sender = new Sender({
    stateStore,
    pool,
    client: () => budget.postingClient() ?? network.client,
    emit,
    retry: options.timing?.sendRetry ?? DEFAULT_RETRY,
    receiptRetry: options.timing?.receiptRetry ?? { ...DEFAULT_RETRY, maxAttempts: 8 },
    retryBudget: new RetryBudget(options.network?.retryBudget),
    now,
    logger: createLogger('outbox'),
    copies: options.outbox?.copies,
    repost: options.outbox?.repost,
    health: options.outbox?.health,
    devlistEcho: (identityId, recipientHex) => deviceNews?.echoFor(identityId, recipientHex),
    v1: (options.protocolV1 ?? PROTOCOL_V1_DEFAULT)
      ? new SessionSender({
          sessions,
          receiver,
          now,
          keyPair: (identityId) => stateStore.keyPair(identityId),
          post: (dropUrls, pdu, to): Promise<void> => sender.postOwn(dropUrls, pdu, to),
          pingDelayMs: options.timing?.pingDelayMs,
          pingsWanted: () => stateStore.settings().sendReceipts,
          devlistEcho: (identityId, peerHex) => deviceNews?.echoFor(identityId, peerHex),
        })
      : undefined,
  });
  noteReceipts = (receipts) => sender.noteReceipts(receipts);
  const devices = new DeviceNews({ dataDir: options.dataDir, stateStore, sessions, pool, v1: () => sender.v1, post: (dropUrls, pdu, to) => sender.postOwn(dropUrls, pdu, to), emit, now, logger: createLogger('devices') });
  deviceNews = devices;
  // Per-device sessions (sessions/devices.ts) need this device's id, prekey and list while opening.
  sessions.ownDevice = (identityId) => {
    try {
      return devices.store.selfSync(identityId);
    } catch {
      return null; // locked, or no such identity
    }
  };
  sessions.ensureOwnDevice = async (identityId) => {
    await devices.store.view(identityId);
  };
  const sync = new SiblingSync({
    stateStore,
    sender,
    store: devices.store,
    now,
    logger: createLogger('sibling-sync'),
    dropsChanged: async () => {
      emit('identities/changed', stateStore.identities());
      if (options.autoPoll !== false) await poller.sync();
    },
  });
  siblingSync = sync;
  const rotation = new KeyRotation({ stateStore, sessions, store: devices.store, sender, pool, post: (dropUrls, pdu) => sender.postOwn(dropUrls, pdu), emit, now, logger: createLogger('rotation') });
  keyRotation = rotation;
  const sessionSender = sender.v1;
  // Version-0 duplicates of shown messages get their lost receipt again (outbox/receiptAgain.ts).
  const receiptsAgain = new ReceiptAgain({ sendReceipt: (...args) => sender.sendReceipt(...args), knownDrops: (identityId, peerHex) => sessions.peer(identityId, peerHex).dropUrls, now });
  receiver.listen({ sessionsChanged: (identityId) => emit('sessions/changed', { identityId }) });
  const poller = new Poller({
    stateStore,
    pool,
    client: () => network.client,
    pushConnection: (url) => network.pushConnection(url),
    emit,
    backoff: options.timing?.pollBackoff ?? DEFAULT_BACKOFF,
    sendReceipt: (identityId, senderKey, dropUrls, acknowledgeId) => {
      receiptsAgain.noteDrops(identityId, senderKey, dropUrls);
      sender.sendReceipt(identityId, senderKey, dropUrls, acknowledgeId);
    },
    receiptAgain: (...args) => void receiptsAgain.answer(...args),
    sessionReceipts: (receipts) => sender.noteSessionReceipts(receipts),
    sessions: receiver,
    now,
    logger: createLogger('poller'),
    budgeted: () => budget.enabled,
  });
  const files = new FileService({
    dataDir: options.dataDir,
    stateStore,
    sender,
    http: () => network.blobHttp(),
    emit,
    logger: createLogger('files'),
  });
  // Which identities another device removed this one from: every sending path refuses for them.
  const removedParts = { stateStore, removedHere: (identityId: string) => devices.removedHere(identityId), logger: createLogger('devices') };
  const removedIdentities = new RemovedIdentities(removedParts);
  devices.onChanged((identityId) => void removedIdentities.refresh(identityId));
  guardRemovedOutbox(sender, removedParts, (identityId) => removedIdentities.has(identityId));
  const started = async () => {
    await removedIdentities.refresh();
    network.configure(stateStore.settings().proxy);
    sender.resumeReceipts();
    if (options.autoPoll !== false) await poller.sync();
    if (options.autoPoll !== false) await budget.configure();
  };
  if (!stateStore.locked) {
    try {
      await started();
    } catch (err) {
      await pool.close();
      await network.close();
      throw err;
    }
  }

  const handlers = buildHandlers({ options, stateStore, pool, network, poller, sender, files, sessions, receiver, devices, sync, rotation, emit, now, started });
  // A drop added, moved or removed here is told to the identity's other devices (devices/sync.ts).
  followDropChanges(handlers, sync, logger);
  // A device another device removed from an identity sends nothing more for it (devices/removedGuard.ts).
  guardRemovedChannels(handlers, removedParts);
  // The budget follows whatever changes its setting, the proxy, pausing or the lock.
  const { 'settings/set': setSettings, 'poller/setPaused': setPaused, 'app/lock': lock } = handlers;
  const followedByBudget = async <T>(result: Promise<T>): Promise<T> => {
    const value = await result;
    if (options.autoPoll !== false) await budget.configure();
    return value;
  };
  handlers['settings/set'] = (change) => followedByBudget(setSettings(change));
  handlers['poller/setPaused'] = (request) => followedByBudget(setPaused(request));
  handlers['app/lock'] = (request) => followedByBudget(lock(request));
  let closed: Promise<void> | null = null;
  return {
    handlers,
    subscribe(sink) {
      sinks.add(sink);
      return () => void sinks.delete(sink);
    },
    fetchOnce(since) {
      if (stateStore.locked) return Promise.reject(new ApiFailure('locked', 'The engine is locked.'));
      return poller.fetchOnce(since);
    },
    saveFile(id, ref, dest) {
      if (stateStore.locked) return Promise.reject(new ApiFailure('locked', 'The engine is locked.'));
      return files.saveTo(id, ref, dest);
    },
    async settled() {
      await poller.idle();
      await sender.receiptsSettled();
      await sync.settled();
      // Device news of the batches read so far (lists, echoes, asks) is handled after they are emitted.
      await devices.settled();
    },
    close() {
      closed ??= (async () => {
        await budget.close();
        await poller.stop();
        // No batch comes after the poller stopped: what device news was taken is handled (it may post) before the outbox closes.
        await devices.settled();
        sessionSender?.close();
        await files.close();
        await sender.close();
        await sync.settled();
        await sessions.settled();
        await stateStore.flush();
        await pool.close();
        await network.close();
        sinks.clear();
      })();
      return closed;
    },
  };
}
