/**
 * The stateStore: identities with private keys encrypted at rest, and the rest of the engine's state
 * file (cursors, settings, outbox records, queued receipts, recent dedupe keys). The file is always
 * replaced atomically; a corrupt or foreign file stops the engine with a clear error and is never
 * overwritten.
 *
 * Writes are batched (coalescedWrites.ts): a change that may lag is written within `writeDelayMs`,
 * together with every other change meanwhile. What may lag: acknowledged cursors and dedupe keys
 * (delivery is at-least-once and inserts are idempotent: a cursor lost in a crash only repeats a
 * batch, and a cursor is set only once the UI stored its batch, so it never runs ahead of the UI),
 * progress of an outbox record (a part posted again after a crash carries the very same bytes, which
 * the recipient drops as a duplicate), and receipts taken off the queue (one may be posted twice).
 * What is on disk before the call resolves: a new state file, identities, settings, a new outbox
 * record (before its first POST) and a queued receipt.
 *
 * Locking forgets the data key (and so every private key); the state itself holds nothing secret
 * beyond the file. A passphrase change seals the same data key under the new passphrase and replaces
 * the whole file in one atomic rename: a crash at any moment leaves the old or the new one working.
 *
 * This module keeps the locking, the data key and the writes, and is what the rest of the engine
 * calls; what each part of the state holds and how it changes is in its own module: stateFile.ts
 * (reading and checking the file), sealingContexts.ts (what each secret is sealed under),
 * identityRecords.ts (identities and their keys), identityDrops.ts (their drops, retiring and moving),
 * qrPrekeys.ts, closedDropRecords.ts (closed drops' claims and the ticket wallet), and
 * outboxRecords.ts (outbox records, server health, the receipt queue).
 */
import { join } from 'node:path';
import type { EngineSettings, IdentitySummary } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { type Logger, createLogger } from '../../../shared/log.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { writeFileAtomic } from './atomicFile.js';
import { CoalescedWrites } from './coalescedWrites.js';
import { DataKey } from './dataKey.js';
import { type RetiredDrop, isKept } from '../drops/retiring.js';
import {
  type EngineState,
  type OutboxRecord,
  type QueuedReceipt,
  type StoredOutboxRecord,
  type ServerHealth,
  STATE_FILE_NAME,
  type StoredIdentity,
} from './stateSchema.js';
import { type ClosedDropInput, openWallet, replaceWallet, storedClaim } from './closedDropRecords.js';
import { adoptDropsOf, confirmMoveOf, dropsKeptAt, dropsReadAt, forgetCursorsNotKept, moveDropOf, nextRetirementOf, replaceDrops, withdrawDrop } from './identityDrops.js';
import { putRecord, putServerHealth, recordIdOf, recordsHolding, withReceipt, withoutReceipt } from './outboxRecords.js';
import { openKeyPair, openRetiredKeys, restoredRetiredDrops, rotateStoredKey, storedIdentity, summaryOf } from './identityRecords.js';
import { openQrPrekeys, showQrPrekeyOf } from './qrPrekeys.js';
import { DATABASE_KEY_PURPOSE, identityContext, sessionContext } from './sealingContexts.js';
import { corrupt, freshState, readStateFile } from './stateFile.js';

/** Seals the data key with the key-encryption secret (a passphrase KDF; slow on purpose). */
export interface KeyWrap {
  seal(dataKey: Uint8Array, secret: string): Promise<string>;
  /** @throws ApiFailure 'bad_passphrase' when the secret is wrong. */
  open(wrapped: string, secret: string): Promise<Uint8Array>;
}

export interface StateStoreOptions {
  /**
   * Longest a change that may lag waits before it is written (default 200 ms). 0 writes every
   * change before the call resolves (the behaviour before writes were batched; benchmarks compare).
   */
  writeDelayMs?: number;
  /** Replaces the state file (default: `writeFileAtomic`; benchmarks count the writes). */
  writeFile?(path: string, contents: string): Promise<void>;
  logger?: Logger;
}

const DEFAULT_WRITE_DELAY_MS = 200;

/** Recent dedupe keys kept across restarts. */
const MAX_SEEN = 5000;

export class StateStore {
  private state: EngineState | null = null;
  private dataKey: DataKey | null = null;
  /** Unlock, lock and passphrase changes run one at a time, in call order. */
  private keyChanges: Promise<void> = Promise.resolve();
  private readonly path: string;
  private readonly writes: CoalescedWrites;
  private readonly writeDelayMs: number;

  private constructor(
    dataDir: string,
    private readonly keyWrap: KeyWrap,
    /** The state to unlock: as found on disk, or as it was when locked (null: no file yet). */
    private onDisk: EngineState | null,
    options: StateStoreOptions,
  ) {
    this.path = join(dataDir, STATE_FILE_NAME);
    this.writeDelayMs = options.writeDelayMs ?? DEFAULT_WRITE_DELAY_MS;
    const writeFile = options.writeFile ?? writeFileAtomic;
    const log = options.logger ?? createLogger('state');
    this.writes = new CoalescedWrites({
      // While locked the last state is written as it was (a write that failed before locking).
      snapshot: () => JSON.stringify(this.state ?? this.onDisk),
      write: (contents) => writeFile(this.path, contents),
      delayMs: this.writeDelayMs,
      onError: (err) => log.warn('state file not written; tried again with the next change', { error: err instanceof Error ? err.message : 'unknown' }),
    });
  }

  /**
   * Reads (but does not decrypt) the state file in `dataDir`.
   * @throws ApiFailure 'bad_input' when the file exists but is not a readable Deaddrop state file.
   */
  static async load(dataDir: string, keyWrap: KeyWrap, options: StateStoreOptions = {}): Promise<StateStore> {
    return new StateStore(dataDir, keyWrap, await readStateFile(join(dataDir, STATE_FILE_NAME)), options);
  }

  get locked(): boolean {
    return this.state === null;
  }

  /** False until a state file exists: the first unlock then chooses the secret. */
  get initialised(): boolean {
    return this.onDisk !== null || this.state !== null;
  }

  /** Decrypts the data key with `secret` (or creates the state on first use). Concurrent calls run one at a time. */
  unlock(secret: string): Promise<void> {
    return this.serially(() => this.unlockOnce(secret));
  }

  /**
   * Writes every pending change, then forgets the data key: nothing can be decrypted until `unlock`.
   * A write that fails is tried again later; locking does not wait for the disk to recover.
   */
  lock(log: Logger = createLogger('state')): Promise<void> {
    return this.serially(async () => {
      if (!this.state) return;
      await this.writes.flush().catch((err: unknown) =>
        log.warn('state file not written before locking; tried again later', { error: err instanceof Error ? err.message : 'unknown' }),
      );
      this.onDisk = this.state;
      this.state = null;
      this.dataKey = null;
    });
  }

  /**
   * Seals the data key under `newSecret` once `oldSecret` proves to open the current wrap, and
   * resolves once the new file is on disk. If the file cannot be written, the old secret stays.
   * @throws ApiFailure 'bad_passphrase' when `oldSecret` is wrong, 'unavailable' when the file cannot be written.
   */
  changeSecret(oldSecret: string, newSecret: string): Promise<void> {
    return this.serially(async () => {
      const state = this.unlocked;
      const dataKey = this.dataKey!;
      const opened = await this.keyWrap.open(state.keyWrap, oldSecret);
      if (!Buffer.from(opened).equals(Buffer.from(dataKey.bytes()))) {
        throw new ApiFailure('bad_passphrase', 'Wrong passphrase: the current passphrase was not accepted.');
      }
      const previous = state.keyWrap;
      state.keyWrap = await this.keyWrap.seal(dataKey.bytes(), newSecret);
      try {
        await this.save();
      } catch (err) {
        state.keyWrap = previous;
        throw new ApiFailure(
          'unavailable',
          `The new passphrase could not be saved (${err instanceof Error ? err.message : 'write failed'}); the old passphrase still unlocks. Free some disk space and try again.`,
        );
      }
    });
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.keyChanges.then(work);
    this.keyChanges = run.catch(() => undefined);
    return run;
  }

  private async unlockOnce(secret: string): Promise<void> {
    if (this.state) return;
    if (!this.onDisk) {
      const dataKey = DataKey.generate();
      const state = freshState(await this.keyWrap.seal(dataKey.bytes(), secret));
      this.dataKey = dataKey;
      this.state = state;
      await this.save();
      return;
    }
    const dataKey = DataKey.fromBytes(await this.keyWrap.open(this.onDisk.keyWrap, secret));
    // Prove the key opens every identity now, not at first use.
    for (const identity of this.onDisk.identities) {
      try {
        dataKey.open(identity.sealedPrivateKey, identityContext(identity.id, identity.publicKey));
      } catch {
        throw corrupt(this.path, `the private key of identity "${identity.alias}" cannot be decrypted`);
      }
    }
    this.dataKey = dataKey;
    this.state = structuredClone(this.onDisk);
  }

  private get unlocked(): EngineState {
    if (!this.state) throw new ApiFailure('locked', 'The engine is locked: unlock it with your passphrase first.');
    return this.state;
  }

  /**
   * The key the UI's database seals its records with (message texts, names, previews). It exists
   * only while the state store is unlocked and is never written anywhere.
   */
  databaseKey(): Uint8Array {
    if (!this.dataKey) throw new ApiFailure('locked', 'The engine is locked: unlock it with your passphrase first.');
    return this.dataKey.derive(DATABASE_KEY_PURPOSE);
  }

  identities(): IdentitySummary[] {
    return this.unlocked.identities.map(summaryOf);
  }

  /**
   * Every drop to read at `now`: the identities' drops and those removed less than
   * RETIRED_DROP_READ_MS ago, each once.
   */
  readDropUrls(now: number): string[] {
    return dropsReadAt(this.unlocked.identities, now);
  }

  /**
   * Every drop whose cursor is kept and whose server counts as the user's own at `now`: the drops read
   * now and the retired ones not read between their daily windows.
   */
  keptDropUrls(now: number): string[] {
    return dropsKeptAt(this.unlocked.identities, now);
  }

  /** When `readDropUrls` changes next by itself: a retired drop stops (or starts its daily window of) being read. Null: never. */
  nextRetirement(now: number): number | null {
    return nextRetirementOf(this.unlocked.identities, now);
  }

  identity(id: string): IdentitySummary {
    const found = this.identities().find((identity) => identity.id === id);
    if (!found) throw new ApiFailure('not_found', 'No identity with this id.');
    return found;
  }

  keyPair(id: string): KeyPair {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    return openKeyPair(stored, this.dataKey);
  }

  /**
   * Replaces an identity's key pair (identity rotation, devices/rotation.ts): the old pair is kept in
   * `retiredKeys` until `until` and tried on what arrives; sessions and the device list stay bound to
   * the key they were sealed under (`contextKey`); QR prekeys are dropped (a card names the old key).
   */
  async rotateKey(id: string, pair: KeyPair, until: number, now: number): Promise<IdentitySummary> {
    const state = this.unlocked;
    const stored = state.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    const publicKey = Buffer.from(pair.publicKey).toString('hex');
    if (state.identities.some((identity) => identity.publicKey === publicKey)) throw new ApiFailure('already_exists', 'This key is already in use.');
    const undo = rotateStoredKey(stored, this.dataKey, pair, until, now);
    try {
      await this.save();
    } catch (err) {
      undo();
      throw err;
    }
    return this.identity(id);
  }

  /** The replaced key pairs still read at `now` (identity rotation), per identity. */
  retiredKeyPairs(now: number): { id: string; pair: KeyPair }[] {
    const dataKey = this.dataKey;
    if (!dataKey) return [];
    return openRetiredKeys(this.unlocked.identities, dataKey, now);
  }

  async addIdentity(summary: IdentitySummary, privateKey: Uint8Array): Promise<IdentitySummary> {
    const state = this.unlocked;
    if (state.identities.some((identity) => identity.publicKey === summary.publicKey)) {
      throw new ApiFailure('already_exists', 'This identity is already in the stateStore.');
    }
    const stored = storedIdentity(summary, this.dataKey!, privateKey, { retiredDrops: [], dropsEpoch: 0 });
    state.identities.push(stored);
    await this.save();
    return this.identity(summary.id);
  }

  async deleteIdentity(id: string): Promise<void> {
    const state = this.unlocked;
    const index = state.identities.findIndex((identity) => identity.id === id);
    if (index < 0) throw new ApiFailure('not_found', 'No identity with this id.');
    const [removed] = state.identities.splice(index, 1);
    for (const key of Object.keys(state.sessionCounters)) if (key.startsWith(`${id} `)) delete state.sessionCounters[key];
    const stillUsed = new Set(this.keptDropUrls(Date.now()));
    for (const dropUrl of [...removed!.dropUrls, ...removed!.retiredDrops.map((drop) => drop.url)]) if (!stillUsed.has(dropUrl)) delete state.cursors[dropUrl];
    await this.save();
  }

  /**
   * Sets an identity's drops. A drop taken off the list is still read for RETIRED_DROP_READ_MS from
   * `now` (with its cursor kept), so nothing posted there before contacts heard of the change is lost.
   */
  async setDropUrls(id: string, dropUrls: readonly string[], now = Date.now()): Promise<IdentitySummary> {
    const state = this.unlocked;
    const stored = state.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    replaceDrops(stored, dropUrls, now);
    forgetCursorsNotKept(state, now);
    await this.save();
    return this.identity(id);
  }

  /**
   * Takes back a drop just added that was never given out (its claim as a closed drop failed): unlike
   * a removal it is not read on, as nobody can have written to it.
   */
  async withdrawNewDrop(id: string, dropUrl: string): Promise<void> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    withdrawDrop(stored, dropUrl);
    delete this.unlocked.cursors[dropUrl];
    await this.save();
  }

  /** The drops an identity no longer hands out and still reads at `now` (copies), for a backup. */
  retiredDropsOf(id: string, now: number): RetiredDrop[] {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    return stored.retiredDrops.filter((drop) => isKept(drop, now)).map((drop) => ({ ...drop }));
  }

  /** The identity's drops epoch (state schema `dropsEpoch`): what its version-1 PDUs carry. */
  dropsEpoch(id: string): number {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    return stored.dropsEpoch;
  }

  /** The claims of this identity's closed drops (state schema `closedDrops`). */
  closedDrops(id: string): StoredIdentity['closedDrops'] {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    return stored.closedDrops.map((claim) => ({ ...claim, keyIds: [...claim.keyIds] }));
  }

  /** Records the policy a server took for one of the identity's drops (replacing an older one of that drop). */
  async setClosedDrop(id: string, claim: ClosedDropInput): Promise<void> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    const copy = storedClaim(claim);
    stored.closedDrops = [...stored.closedDrops.filter((c) => c.url !== claim.url), copy];
    await this.save();
  }

  /**
   * Changes the claim of one of the identity's closed drops in place (tickets handed out, messages
   * counted, revocations) and saves; false when the identity has no claim of that drop.
   */
  async updateClosedDrop(id: string, dropUrl: string, change: (claim: StoredIdentity['closedDrops'][number]) => void): Promise<boolean> {
    const claim = this.unlocked.identities.find((identity) => identity.id === id)?.closedDrops.find((c) => c.url === dropUrl);
    if (!claim) return false;
    change(claim);
    await this.save();
    return true;
  }

  /** Notes that `contactKey` was handed tickets for the identity's closed drop `dropUrl`. */
  async noteTicketsGiven(id: string, dropUrl: string, contactKey: string): Promise<void> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    const claim = stored?.closedDrops.find((c) => c.url === dropUrl);
    if (!claim || claim.given.includes(contactKey)) return;
    claim.given.push(contactKey);
    await this.save();
  }

  /** The tickets in the wallet for posting to `contactKey`'s drop `dropUrl`. */
  walletTickets(id: string, contactKey: string, dropUrl: string): Uint8Array[] {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) return [];
    return openWallet(stored, this.dataKey, contactKey, dropUrl);
  }

  /** Replaces the wallet's tickets for `contactKey`'s drop `dropUrl` (none: the entry goes). */
  async setWalletTickets(id: string, contactKey: string, dropUrl: string, tickets: readonly Uint8Array[]): Promise<void> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    replaceWallet(stored, this.dataKey, contactKey, dropUrl, tickets);
    await this.save();
  }

  /**
   * Moves an identity from `fromDropUrl` to `newDropUrl` (identities/moveDrop): the new drop goes first
   * (every later message names it in its meta data), the old one is read on until MOVE_OVERLAP_MS
   * from `now` (drops/retiring.ts), with its cursor kept.
   */
  async moveDrop(id: string, fromDropUrl: string, newDropUrl: string, now: number): Promise<IdentitySummary> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    moveDropOf(stored, fromDropUrl, newDropUrl, now);
    await this.save();
    return this.identity(id);
  }

  /** Every contact confirmed the move away from `fromDropUrl` at `now`: it is read once a day from then on (drops/retiring.ts). */
  async moveConfirmed(id: string, fromDropUrl: string, now: number): Promise<IdentitySummary> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    confirmMoveOf(stored, fromDropUrl, now);
    await this.save();
    return this.identity(id);
  }

  /**
   * Takes the drop list another device of the identity changed (sibling sync `drops`, the caller
   * checked that `epoch` is newer): its drops, its epoch, and its retiring drops merged with ours (the
   * later end, the earlier move). A drop this device read until now and the sibling no longer lists
   * is never dropped at once: it retires here as after a removal, so what contacts posted there before
   * they heard of the change still arrives. New drops have no cursor: they are read from their start.
   */
  async adoptSiblingDrops(id: string, change: { epoch: number; dropUrls: readonly string[]; retiring: readonly RetiredDrop[] }, now: number): Promise<IdentitySummary> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    adoptDropsOf(stored, change, now);
    forgetCursorsNotKept(this.unlocked, now);
    await this.save();
    return this.identity(id);
  }

  /**
   * The QR prekey a contact card shows now: the newest one while it has more than QR_PREKEY_RENEW_MS
   * to live, else a fresh one valid for QR_PREKEY_LIFETIME_MS. Showing it is noted (its private key
   * is kept until QR_PREKEY_KEEP_MS after that), and prekeys past that are deleted.
   */
  async showQrPrekey(id: string, now: number): Promise<{ publicKey: string; expiresAt: number }> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    const shown = showQrPrekeyOf(stored, this.dataKey, now);
    await this.saveSoon();
    return shown;
  }

  /** The QR prekeys an Init may name (not yet deleted), private keys opened. */
  qrPrekeyPairs(id: string, now: number): { publicKey: Uint8Array; privateKey: Uint8Array; expiresAt: number }[] {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    return openQrPrekeys(stored, this.dataKey, now);
  }

  /** Seals a version-1 session state of an identity under the data key, bound to the identity's session epoch. */
  sealSession(identityId: string, sessionId: string, plaintext: Uint8Array): string {
    const stored = this.unlocked.identities.find((identity) => identity.id === identityId);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    return this.dataKey.seal(plaintext, sessionContext(stored, sessionId));
  }

  /** Opens a sealed session state; null when it was not sealed for this identity's current life. */
  openSession(identityId: string, sessionId: string, sealed: string): Uint8Array | null {
    const stored = this.unlocked.identities.find((identity) => identity.id === identityId);
    if (!stored || !this.dataKey) return null;
    try {
      return this.dataKey.open(sealed, sessionContext(stored, sessionId));
    } catch {
      return null;
    }
  }

  /** The mirrored write counter of a session (0: never written). */
  sessionCounter(identityId: string, sessionId: string): number {
    return this.unlocked.sessionCounters[`${identityId} ${sessionId}`] ?? 0;
  }

  /**
   * Mirrors session write counters (after the sessions file holds them) and forgets removed sessions'
   * counters; on disk before it resolves.
   */
  async setSessionCounters(identityId: string, counters: readonly (readonly [string, number])[], removed: readonly string[] = []): Promise<void> {
    const state = this.unlocked;
    for (const [sessionId, counter] of counters) state.sessionCounters[`${identityId} ${sessionId}`] = counter;
    for (const sessionId of removed) delete state.sessionCounters[`${identityId} ${sessionId}`];
    await this.save();
  }

  async setAlias(id: string, alias: string): Promise<IdentitySummary> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    stored.alias = alias;
    await this.save();
    return this.identity(id);
  }

  cursor(dropUrl: string): string | null {
    return this.unlocked.cursors[dropUrl] ?? null;
  }

  /** The acknowledged cursors of these drops (those that have one), for a backup. */
  cursorsOf(dropUrls: readonly string[]): Record<string, string> {
    const cursors = this.unlocked.cursors;
    return Object.fromEntries(dropUrls.filter((dropUrl) => dropUrl in cursors).map((dropUrl) => [dropUrl, cursors[dropUrl]!]));
  }

  /**
   * Adds an identity restored from a backup, keeping its id, with the cursors of its drops: both in one
   * state write, so a restored poller resumes where the backup was made, or nothing was restored.
   */
  async restoreIdentity(
    summary: IdentitySummary,
    privateKey: Uint8Array,
    cursors: Readonly<Record<string, string>>,
    kept: { retiredDrops?: readonly RetiredDrop[] | undefined; dropsEpoch?: number | undefined; now?: number | undefined } = {},
  ): Promise<IdentitySummary> {
    const state = this.unlocked;
    if (state.identities.some((identity) => identity.publicKey === summary.publicKey)) {
      throw new ApiFailure('already_exists', `${summary.alias} is already here: delete it first to restore it from this backup.`);
    }
    if (state.identities.some((identity) => identity.id === summary.id)) throw new ApiFailure('already_exists', 'An identity with this id is already here.');
    const stored = storedIdentity(summary, this.dataKey!, privateKey, {
      // A backup made while a drop was retiring (a move's overlap, a removal) keeps reading it until its
      // end, so what contacts who missed the change post there still reaches the restored device.
      retiredDrops: restoredRetiredDrops(kept.retiredDrops ?? [], summary.dropUrls, kept.now ?? Date.now()),
      // Contacts know the epoch the backup had: a restored identity carries on from it, not from 0.
      dropsEpoch: (kept.dropsEpoch ?? 0) & 0xffff,
    });
    const previousCursors = { ...state.cursors };
    state.identities.push(stored);
    const readUrls = [...summary.dropUrls, ...stored.retiredDrops.map((drop) => drop.url)];
    for (const [dropUrl, cursor] of Object.entries(cursors)) if (readUrls.includes(dropUrl)) state.cursors[dropUrl] = cursor;
    try {
      await this.save();
    } catch (err) {
      // Not on disk: not restored in memory either.
      state.identities.splice(state.identities.indexOf(stored), 1);
      state.cursors = previousCursors;
      throw err;
    }
    return this.identity(summary.id);
  }

  /** Records the acknowledged cursor of a drop and the dedupe keys the consumer stored with it. */
  async acknowledge(dropUrl: string, cursor: string | null, dedupeKeys: readonly string[]): Promise<void> {
    const state = this.unlocked;
    if (cursor !== null) state.cursors[dropUrl] = cursor;
    if (dedupeKeys.length > 0) state.seen = [...state.seen, ...dedupeKeys].slice(-MAX_SEEN);
    await this.saveSoon();
  }

  seenKeys(): string[] {
    return [...this.unlocked.seen];
  }

  settings(): EngineSettings {
    return structuredClone(this.unlocked.settings);
  }

  async setSettings(settings: EngineSettings): Promise<EngineSettings> {
    this.unlocked.settings = structuredClone(settings);
    await this.save();
    return this.settings();
  }

  outboxRecord(localId: string): StoredOutboxRecord | null {
    const record = this.unlocked.outbox[localId];
    return record ? structuredClone(record) : null;
  }

  /** A new record is on disk when this resolves (before its first POST); a changed one within the write delay. */
  async putOutboxRecord(localId: string, record: OutboxRecord): Promise<void> {
    const isNew = putRecord(this.unlocked.outbox, localId, record);
    await (isNew ? this.save() : this.saveSoon());
  }

  /**
   * The outbox records that still hold sealed pieces, oldest change first, with the bytes they keep
   * and whether they are kept for re-posting (rather than still being sent).
   */
  outboxHolding(): { localId: string; bytes: number; reposting: boolean }[] {
    return recordsHolding(this.unlocked.outbox);
  }

  /**
   * The local id of the message of `identityId` to `recipientKey` that carries `acknowledgeId`, or
   * (version 1) the session reference `acknowledgeId` (null: none kept).
   */
  outboxIdOf(identityId: string, recipientKey: string, acknowledgeId: string): string | null {
    return recordIdOf(this.unlocked.outbox, identityId, recipientKey, acknowledgeId);
  }

  /** Posting health of drop servers (by origin), as the outbox learned it. */
  serverHealth(): Record<string, ServerHealth> {
    return structuredClone(this.unlocked.serverHealth);
  }

  /** Records a server's posting health (may lag); the least recently changed beyond MAX_SERVER_HEALTH are forgotten. */
  async setServerHealth(origin: string, health: ServerHealth): Promise<void> {
    putServerHealth(this.unlocked.serverHealth, origin, health);
    await this.saveSoon();
  }

  /** Receipts owed and not posted yet, oldest first. */
  queuedReceipts(): QueuedReceipt[] {
    return structuredClone(this.unlocked.receipts);
  }

  /** Queues a receipt unless the same one (identity, recipient, acknowledge id) is queued already. */
  async queueReceipt(receipt: QueuedReceipt): Promise<void> {
    const state = this.unlocked;
    const queued = withReceipt(state.receipts, receipt);
    if (!queued) return;
    state.receipts = queued;
    await this.save();
  }

  /** Takes a receipt off the queue: posted, or given up. */
  async removeReceipt(receipt: Pick<QueuedReceipt, 'identityId' | 'recipientKey' | 'acknowledgeId'>): Promise<void> {
    const state = this.unlocked;
    const kept = withoutReceipt(state.receipts, receipt);
    if (!kept) return;
    state.receipts = kept;
    await this.saveSoon();
  }

  /** A change that must be durable: resolves once it is on disk. */
  private save(): Promise<void> {
    return this.writes.now();
  }

  /** A change that may lag: written within the write delay, with the changes made meanwhile. */
  private saveSoon(): Promise<void> {
    if (this.writeDelayMs <= 0) return this.writes.now();
    this.writes.soon();
    return Promise.resolve();
  }

  /** Writes every pending change now; resolves once they are on disk (the engine calls it when closing). */
  async flush(): Promise<void> {
    await this.writes.flush();
  }
}
