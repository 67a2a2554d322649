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
 */
import { generateNativeKeyPair } from './nativeKeyPair.js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineSettings, IdentitySummary } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { type Logger, createLogger } from '../../../shared/log.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { writeFileAtomic } from './atomicFile.js';
import { CoalescedWrites } from './coalescedWrites.js';
import { DataKey } from './dataKey.js';
import { MOVE_OVERLAP_MS, type RetiredDrop, isKept, isRead, nextChange, retiringSummary } from '../drops/retiring.js';
import {
  type EngineState,
  type OutboxRecord,
  type QueuedReceipt,
  type StoredOutboxRecord,
  type ServerHealth,
  holdsPdus,
  retainedBytes,
  withOutboxDefaults,
  STATE_FILE_NAME,
  STATE_FORMAT,
  STATE_VERSION,
  type StoredIdentity,
  defaultSettings,
  stateSchema,
} from './stateSchema.js';

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
/**
 * How long a removed drop is still read: twice the protocol's default TTL (7 days), for servers kept
 * longer than the default and contacts that post late.
 */
export const RETIRED_DROP_READ_MS = 14 * 24 * 3600_000;
/** Finished outbox records kept for idempotency. */
const MAX_FINISHED_OUTBOX = 5000;
/** Drop servers whose posting health is remembered. */
const MAX_SERVER_HEALTH = 256;
/** Receipts waiting to be posted; beyond this the oldest are given up. */
const MAX_QUEUED_RECEIPTS = 2000;

const DATABASE_KEY_PURPOSE = 'deaddrop ui database key v1';

const identityContext = (id: string, publicKey: string) => `deaddrop identity ${id} ${publicKey}`;
const walletContext = (id: string, contactKey: string, dropUrl: string) => `deaddrop tickets ${id} ${contactKey} ${dropUrl}`;
const prekeyContext = (id: string, publicKey: string) => `deaddrop qr prekey ${id} ${publicKey}`;
const sessionContext = (identity: StoredIdentity, sessionId: string) =>
  `deaddrop v1 session ${identity.id} ${identity.contextKey ?? identity.publicKey} ${identity.sessionEpoch} ${sessionId}`;
const DAY_MS = 24 * 3600_000;
/** How long a fresh QR prekey may be offered (PROTOCOL-V1.md: a 30-day QR prekey). */
export const QR_PREKEY_LIFETIME_MS = 30 * DAY_MS;
/** A card shows a new prekey when the current one has less than this to live. */
export const QR_PREKEY_RENEW_MS = 7 * DAY_MS;
/** A prekey's private key is kept this long after its card was last shown. */
export const QR_PREKEY_KEEP_MS = 30 * DAY_MS;

/** A closed drop's claim as callers hand it in: the bookkeeping of tickets may be left out (none yet). */
export type ClosedDropInput = Omit<StoredIdentity['closedDrops'][number], 'batches' | 'arrived' | 'revoking'> &
  Partial<Pick<StoredIdentity['closedDrops'][number], 'batches' | 'arrived' | 'revoking'>>;

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
    const path = join(dataDir, STATE_FILE_NAME);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new StateStore(dataDir, keyWrap, null, options);
      throw new ApiFailure('unavailable', `The engine state file ${path} cannot be read (${(err as Error).message}).`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw corrupt(path, 'it is not valid JSON');
    }
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success) {
      const foreign = (json as { format?: unknown } | null)?.format !== STATE_FORMAT;
      throw corrupt(path, foreign ? 'it is not a Deaddrop engine state file' : 'its contents are damaged');
    }
    return new StateStore(dataDir, keyWrap, parsed.data, options);
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
      const state: EngineState = {
        format: STATE_FORMAT,
        version: STATE_VERSION,
        keyWrap: await this.keyWrap.seal(dataKey.bytes(), secret),
        identities: [],
        cursors: {},
        settings: defaultSettings,
        outbox: {},
        receipts: [],
        seen: [],
        sessionCounters: {},
        serverHealth: {},
      };
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
    return this.unlocked.identities.map(({ sealedPrivateKey: _sealed, retiredDrops, qrPrekeys: _prekeys, closedDrops: _closed, ticketWallet: _wallet, retiredKeys: _retired, contextKey: _context, ...summary }) => ({
      ...summary,
      dropUrls: [...summary.dropUrls],
      retiringDrops: retiredDrops.map(retiringSummary),
    }));
  }

  /**
   * Every drop to read at `now`: the identities' drops and those removed less than
   * RETIRED_DROP_READ_MS ago, each once.
   */
  readDropUrls(now: number): string[] {
    const identities = this.unlocked.identities;
    // A drop moved away from is read once a day after its first week (drops/retiring.ts).
    const retired = identities.flatMap((identity) => identity.retiredDrops.filter((drop) => isRead(drop, now)).map((drop) => drop.url));
    return [...new Set([...identities.flatMap((identity) => identity.dropUrls), ...retired])];
  }

  /**
   * Every drop whose cursor is kept and whose server counts as the user's own at `now`: the drops read
   * now and the retired ones not read between their daily windows.
   */
  keptDropUrls(now: number): string[] {
    const identities = this.unlocked.identities;
    const retired = identities.flatMap((identity) => identity.retiredDrops.filter((drop) => isKept(drop, now)).map((drop) => drop.url));
    return [...new Set([...identities.flatMap((identity) => identity.dropUrls), ...retired])];
  }

  /** When `readDropUrls` changes next by itself: a retired drop stops (or starts its daily window of) being read. Null: never. */
  nextRetirement(now: number): number | null {
    const changes = this.unlocked.identities.flatMap((identity) => identity.retiredDrops.map((drop) => nextChange(drop, now))).filter((at) => at !== null);
    return changes.length > 0 ? Math.min(...changes) : null;
  }

  identity(id: string): IdentitySummary {
    const found = this.identities().find((identity) => identity.id === id);
    if (!found) throw new ApiFailure('not_found', 'No identity with this id.');
    return found;
  }

  keyPair(id: string): KeyPair {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    return {
      publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'hex')),
      privateKey: this.dataKey.open(stored.sealedPrivateKey, identityContext(stored.id, stored.publicKey)),
    };
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
    const before = { ...stored, retiredKeys: stored.retiredKeys ? [...stored.retiredKeys] : undefined, qrPrekeys: [...stored.qrPrekeys] };
    stored.retiredKeys = [...(stored.retiredKeys ?? []).filter((key) => key.until > now), { publicKey: stored.publicKey, sealedPrivateKey: stored.sealedPrivateKey, until }];
    stored.contextKey = stored.contextKey ?? stored.publicKey;
    stored.publicKey = publicKey;
    stored.sealedPrivateKey = this.dataKey.seal(pair.privateKey, identityContext(id, publicKey));
    stored.qrPrekeys = [];
    try {
      await this.save();
    } catch (err) {
      Object.assign(stored, before);
      throw err;
    }
    return this.identity(id);
  }

  /** The replaced key pairs still read at `now` (identity rotation), per identity. */
  retiredKeyPairs(now: number): { id: string; pair: KeyPair }[] {
    const dataKey = this.dataKey;
    if (!dataKey) return [];
    return this.unlocked.identities.flatMap((identity) =>
      (identity.retiredKeys ?? [])
        .filter((key) => key.until > now)
        .map((key) => ({ id: identity.id, pair: { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: dataKey.open(key.sealedPrivateKey, identityContext(identity.id, key.publicKey)) } })),
    );
  }

  async addIdentity(summary: IdentitySummary, privateKey: Uint8Array): Promise<IdentitySummary> {
    const state = this.unlocked;
    if (state.identities.some((identity) => identity.publicKey === summary.publicKey)) {
      throw new ApiFailure('already_exists', 'This identity is already in the stateStore.');
    }
    const { retiringDrops: _retiring, ...fields } = summary;
    const stored: StoredIdentity = {
      ...fields,
      dropUrls: [...summary.dropUrls],
      sealedPrivateKey: this.dataKey!.seal(privateKey, identityContext(summary.id, summary.publicKey)),
      retiredDrops: [],
      dropsEpoch: 0,
      sessionEpoch: randomBytes(16).toString('base64url'),
      qrPrekeys: [],
      closedDrops: [],
      ticketWallet: [],
    };
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
    const removed = stored.dropUrls.filter((url) => !dropUrls.includes(url));
    stored.retiredDrops = [
      ...stored.retiredDrops.filter((drop) => drop.until > now && !dropUrls.includes(drop.url) && !removed.includes(drop.url)),
      ...removed.map((url) => ({ url, until: now + RETIRED_DROP_READ_MS })),
    ];
    if (stored.dropUrls.join('\n') !== dropUrls.join('\n')) stored.dropsEpoch = nextDropsEpoch(stored.dropsEpoch);
    stored.dropUrls = [...dropUrls];
    const stillRead = new Set(this.keptDropUrls(now));
    for (const dropUrl of Object.keys(state.cursors)) if (!stillRead.has(dropUrl)) delete state.cursors[dropUrl];
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
    if (stored.dropUrls.includes(dropUrl)) stored.dropsEpoch = nextDropsEpoch(stored.dropsEpoch);
    stored.dropUrls = stored.dropUrls.filter((url) => url !== dropUrl);
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
    const copy: StoredIdentity['closedDrops'][number] = {
      ...claim,
      keyIds: [...claim.keyIds],
      given: [...claim.given],
      batches: (claim.batches ?? []).map((b) => ({ ...b })),
      arrived: { ...claim.arrived },
      revoking: [...(claim.revoking ?? [])],
    };
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
    const entry = stored?.ticketWallet.find((w) => w.contactKey === contactKey && w.dropUrl === dropUrl);
    if (!stored || !entry || !this.dataKey) return [];
    const bytes = this.dataKey.open(entry.sealed, walletContext(stored.id, contactKey, dropUrl));
    return Array.from({ length: Math.floor(bytes.length / 32) }, (_, i) => bytes.slice(i * 32, (i + 1) * 32));
  }

  /** Replaces the wallet's tickets for `contactKey`'s drop `dropUrl` (none: the entry goes). */
  async setWalletTickets(id: string, contactKey: string, dropUrl: string, tickets: readonly Uint8Array[]): Promise<void> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    const others = stored.ticketWallet.filter((w) => !(w.contactKey === contactKey && w.dropUrl === dropUrl));
    const sealed = tickets.length > 0 ? [{ contactKey, dropUrl, sealed: this.dataKey.seal(Buffer.concat(tickets.map((t) => Buffer.from(t))), walletContext(stored.id, contactKey, dropUrl)) }] : [];
    stored.ticketWallet = [...others, ...sealed];
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
    if (!stored.dropUrls.includes(fromDropUrl)) throw new ApiFailure('not_found', 'This identity has no such drop.');
    if (stored.dropUrls.includes(newDropUrl)) throw new ApiFailure('already_exists', 'This identity has this drop already.');
    stored.retiredDrops = [
      ...stored.retiredDrops.filter((drop) => drop.until > now && drop.url !== fromDropUrl && drop.url !== newDropUrl),
      { url: fromDropUrl, until: now + MOVE_OVERLAP_MS, movedAt: now },
    ];
    stored.dropUrls = [newDropUrl, ...stored.dropUrls.filter((url) => url !== fromDropUrl)];
    stored.dropsEpoch = nextDropsEpoch(stored.dropsEpoch);
    await this.save();
    return this.identity(id);
  }

  /** Every contact confirmed the move away from `fromDropUrl` at `now`: it is read once a day from then on (drops/retiring.ts). */
  async moveConfirmed(id: string, fromDropUrl: string, now: number): Promise<IdentitySummary> {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored) throw new ApiFailure('not_found', 'No identity with this id.');
    const drop = stored.retiredDrops.find((retired) => retired.url === fromDropUrl && retired.movedAt !== undefined && retired.until > now);
    if (!drop) throw new ApiFailure('not_found', 'This identity is not moving away from this drop.');
    drop.confirmedAt ??= now;
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
    const listed = new Set(change.dropUrls);
    const retiring = new Map<string, RetiredDrop>();
    const take = (drop: RetiredDrop) => {
      if (listed.has(drop.url) || drop.until <= now) return;
      const known = retiring.get(drop.url);
      if (!known) {
        retiring.set(drop.url, { ...drop });
        return;
      }
      const movedAt = known.movedAt === undefined ? drop.movedAt : drop.movedAt === undefined ? known.movedAt : Math.min(known.movedAt, drop.movedAt);
      const confirmedAt = known.confirmedAt === undefined ? drop.confirmedAt : drop.confirmedAt === undefined ? known.confirmedAt : Math.min(known.confirmedAt, drop.confirmedAt);
      retiring.set(drop.url, { url: drop.url, until: Math.max(known.until, drop.until), ...(movedAt !== undefined ? { movedAt } : {}), ...(confirmedAt !== undefined ? { confirmedAt } : {}) });
    };
    for (const drop of stored.retiredDrops) take(drop);
    for (const drop of change.retiring) take(drop);
    // Ours, gone from the sibling's list and not retiring there (its end passed there, or it never knew it).
    for (const url of stored.dropUrls) if (!retiring.has(url)) take({ url, until: now + RETIRED_DROP_READ_MS });
    stored.retiredDrops = [...retiring.values()];
    stored.dropUrls = [...change.dropUrls];
    stored.dropsEpoch = change.epoch & 0xffff;
    const stillRead = new Set(this.keptDropUrls(now));
    for (const dropUrl of Object.keys(this.unlocked.cursors)) if (!stillRead.has(dropUrl)) delete this.unlocked.cursors[dropUrl];
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
    stored.qrPrekeys = stored.qrPrekeys.filter((prekey) => now < Math.max(prekey.expiresAt, prekey.lastShownAt + QR_PREKEY_KEEP_MS));
    let current = stored.qrPrekeys.at(-1);
    if (!current || current.expiresAt - now <= QR_PREKEY_RENEW_MS) {
      const pair = generateNativeKeyPair();
      const publicKey = Buffer.from(pair.publicKey).toString('hex');
      current = {
        publicKey,
        sealedPrivateKey: this.dataKey.seal(pair.privateKey, prekeyContext(stored.id, publicKey)),
        createdAt: now,
        // The card says a day: the prekey lives to the end of that day (UTC).
        expiresAt: (Math.floor((now + QR_PREKEY_LIFETIME_MS) / DAY_MS) + 1) * DAY_MS - 1,
        lastShownAt: now,
      };
      pair.privateKey.fill(0);
      stored.qrPrekeys.push(current);
    }
    current.lastShownAt = now;
    await this.saveSoon();
    return { publicKey: current.publicKey, expiresAt: current.expiresAt };
  }

  /** The QR prekeys an Init may name (not yet deleted), private keys opened. */
  qrPrekeyPairs(id: string, now: number): { publicKey: Uint8Array; privateKey: Uint8Array; expiresAt: number }[] {
    const stored = this.unlocked.identities.find((identity) => identity.id === id);
    if (!stored || !this.dataKey) throw new ApiFailure('not_found', 'No identity with this id.');
    return stored.qrPrekeys
      .filter((prekey) => now < Math.max(prekey.expiresAt, prekey.lastShownAt + QR_PREKEY_KEEP_MS))
      .map((prekey) => ({
        publicKey: new Uint8Array(Buffer.from(prekey.publicKey, 'hex')),
        privateKey: this.dataKey!.open(prekey.sealedPrivateKey, prekeyContext(stored.id, prekey.publicKey)),
        expiresAt: prekey.expiresAt,
      }));
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
    const { retiringDrops: _retiring, ...fields } = summary;
    const stored: StoredIdentity = {
      ...fields,
      dropUrls: [...summary.dropUrls],
      sealedPrivateKey: this.dataKey!.seal(privateKey, identityContext(summary.id, summary.publicKey)),
      // A backup made while a drop was retiring (a move's overlap, a removal) keeps reading it until its
      // end, so what contacts who missed the change post there still reaches the restored device.
      retiredDrops: (kept.retiredDrops ?? [])
        .filter((drop) => isKept(drop, kept.now ?? Date.now()) && !summary.dropUrls.includes(drop.url))
        .map((drop) => ({ url: drop.url, until: drop.until, ...(drop.movedAt !== undefined ? { movedAt: drop.movedAt } : {}), ...(drop.confirmedAt !== undefined ? { confirmedAt: drop.confirmedAt } : {}) })),
      // Contacts know the epoch the backup had: a restored identity carries on from it, not from 0.
      dropsEpoch: (kept.dropsEpoch ?? 0) & 0xffff,
      sessionEpoch: randomBytes(16).toString('base64url'),
      qrPrekeys: [],
      closedDrops: [],
      ticketWallet: [],
    };
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
    const outbox = this.unlocked.outbox;
    const isNew = !(localId in outbox);
    delete outbox[localId]; // re-insert last: insertion order is age order for pruning
    outbox[localId] = structuredClone(withOutboxDefaults(record));
    // A record keeping sealed pieces to re-post is not finished; the outbox bounds those itself.
    const finished = Object.keys(outbox).filter((id) => !holdsPdus(outbox[id]!));
    for (const id of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_OUTBOX))) delete outbox[id];
    await (isNew ? this.save() : this.saveSoon());
  }

  /**
   * The outbox records that still hold sealed pieces, oldest change first, with the bytes they keep
   * and whether they are kept for re-posting (rather than still being sent).
   */
  outboxHolding(): { localId: string; bytes: number; reposting: boolean }[] {
    const outbox = this.unlocked.outbox;
    return Object.keys(outbox)
      .filter((id) => holdsPdus(outbox[id]!))
      .map((localId) => ({ localId, bytes: retainedBytes(outbox[localId]!), reposting: outbox[localId]!.nextRepostAt !== null }));
  }

  /**
   * The local id of the message of `identityId` to `recipientKey` that carries `acknowledgeId`, or
   * (version 1) the session reference `acknowledgeId` (null: none kept).
   */
  outboxIdOf(identityId: string, recipientKey: string, acknowledgeId: string): string | null {
    for (const [id, record] of Object.entries(this.unlocked.outbox)) {
      if (record.identityId !== identityId || record.recipientKey !== recipientKey) continue;
      if (record.acknowledgeIds.includes(acknowledgeId) || record.refs.includes(acknowledgeId)) return id;
    }
    return null;
  }

  /** Posting health of drop servers (by origin), as the outbox learned it. */
  serverHealth(): Record<string, ServerHealth> {
    return structuredClone(this.unlocked.serverHealth);
  }

  /** Records a server's posting health (may lag); the least recently changed beyond MAX_SERVER_HEALTH are forgotten. */
  async setServerHealth(origin: string, health: ServerHealth): Promise<void> {
    const all = this.unlocked.serverHealth;
    delete all[origin]; // re-insert last: insertion order is change order for pruning
    all[origin] = { ...health };
    const origins = Object.keys(all);
    for (const old of origins.slice(0, Math.max(0, origins.length - MAX_SERVER_HEALTH))) delete all[old];
    await this.saveSoon();
  }

  /** Receipts owed and not posted yet, oldest first. */
  queuedReceipts(): QueuedReceipt[] {
    return structuredClone(this.unlocked.receipts);
  }

  /** Queues a receipt unless the same one (identity, recipient, acknowledge id) is queued already. */
  async queueReceipt(receipt: QueuedReceipt): Promise<void> {
    const state = this.unlocked;
    if (state.receipts.some((queued) => sameReceipt(queued, receipt))) return;
    state.receipts = [...state.receipts, structuredClone(receipt)].slice(-MAX_QUEUED_RECEIPTS);
    await this.save();
  }

  /** Takes a receipt off the queue: posted, or given up. */
  async removeReceipt(receipt: Pick<QueuedReceipt, 'identityId' | 'recipientKey' | 'acknowledgeId'>): Promise<void> {
    const state = this.unlocked;
    const kept = state.receipts.filter((queued) => !sameReceipt(queued, receipt));
    if (kept.length === state.receipts.length) return;
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

function sameReceipt(a: Pick<QueuedReceipt, 'identityId' | 'recipientKey' | 'acknowledgeId'>, b: typeof a): boolean {
  return a.identityId === b.identityId && a.recipientKey === b.recipientKey && a.acknowledgeId === b.acknowledgeId;
}

function corrupt(path: string, why: string): ApiFailure {
  return new ApiFailure('bad_input', `The engine state file ${path} cannot be used: ${why}. It was left untouched; move it away to start afresh.`);
}

/** The drops epoch after a change of the drop list: a u16 that wraps (compared as serial numbers). */
function nextDropsEpoch(epoch: number): number {
  return (epoch + 1) & 0xffff;
}
