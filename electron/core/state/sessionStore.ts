/**
 * Version-1 sessions at rest (PROTOCOL-V1.md 1c "State per contact session"): one file beside the state
 * file, `engine-sessions.json`, holding each session state sealed under the data key (like private keys)
 * and bound to its identity's session epoch, replaced atomically on every commit.
 *
 * Rollback: every session state carries a write counter, mirrored in the state file after the sessions
 * file was written. A state whose counter is below the mirror is an older copy (a restored file) whose
 * chains were already used: it is never used again, so the next message to that peer starts a new Init.
 * A crash between the two writes leaves the sessions file ahead of the mirror, which is fine.
 *
 * Never in backups: identity backups carry no sessions, and a restored identity gets a new session
 * epoch (stateStore.ts), so sealed states from its earlier life no longer open.
 *
 * Sessions change only through `commit`, which the engine calls when the UI acknowledged the batch that
 * changed them (or, for sending, before a sealed PDU leaves): a crash before that replays the same PDUs
 * against the same committed state.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { markSeveralDevices } from '../../../shared/protocol/message.js';
import type { DeviceList } from '../../../shared/protocol/deviceList.js';
import { type SessionState, isStale } from '../v1/session.js';
import { writeFileAtomic } from './atomicFile.js';
import type { StateStore } from './stateStore.js';

export const SESSIONS_FILE_NAME = 'engine-sessions.json';
const SESSIONS_FORMAT = 'deaddrop-engine-sessions';

const sessionsFileSchema = z.object({
  format: z.literal(SESSIONS_FORMAT),
  version: z.literal(1),
  /** identity id → session id → sealed JSON of the SessionState. */
  sessions: z.record(z.string(), z.record(z.string(), z.string())),
  /** identity id → sealed JSON of what we know of each peer (`PeerInfo` by peer key hex). */
  peers: z.record(z.string(), z.string()).default({}),
});
type SessionsFile = z.infer<typeof sessionsFileSchema>;

/** The minimal shape a decrypted state must have before the ratchet code touches it. */
const sessionShape = z
  .object({ v: z.literal(1), id: z.string(), counter: z.number().int().min(0), ourId: z.string(), theirId: z.string() })
  .passthrough();

/** What the engine remembers of a peer between messages (sealed: it says who we talk to). */
export interface PeerInfo {
  /** The peer's client said it speaks version 1 (`dd.v` of a v0 message, or any v1 PDU). */
  v1?: boolean;
  /** Where the UI last told us to write to them (messages/send, owed receipts): where PINGs go. */
  dropUrls?: string[];
  /** When our first session with them was stored (ms): "forward secret since". */
  since?: number;
  /**
   * The session we write in, when the engine chose it (a reset); otherwise `chooseActive` of the peer's
   * sessions that are neither pending nor retired.
   */
  active?: string;
  /** A session started by their Init with the reset flag, waiting for the user's answer (never written in). */
  pending?: string;
  /** Sessions replaced by a reset: still opened (late copies) until the time given (ms), never written in. */
  retired?: Record<string, number>;
  /** The last reset with them (PROTOCOL-V1.md 1c "RESET"): `pending` while the user has not answered. */
  reset?: { pending: boolean; at: number };
  /** Our next message to them starts a new session with the reset flag (they lost theirs, or ours is stale). */
  needsReset?: boolean;
  /** When we last started a reset with them, and when we last took one of theirs (one per hour each way). */
  resetSentAt?: number;
  resetReceivedAt?: number;
  /** A session id their RESET body inside the old session announced: its Init is taken without asking. */
  resetAnnounced?: string;
  /** When we last answered an Init of theirs that named a prekey we do not know (one per hour). */
  staleAnsweredAt?: number;
  /**
   * What we sealed in our Init PDUs keyed with their QR prekey, while they have not answered: sent again
   * in a new session if they answer `qpk_stale` (each entry a JSON body, see sessions/sessionSender.ts).
   */
  unanswered?: { sessionId: string; bodies: string[] }[];
  /**
   * Their identity is on several devices (`dd.md` of their v0 messages): no sessions with them for now
   * (the interim before per-device sessions, electron/core/v1/README.md "Several devices").
   */
  multiDevice?: boolean;
  /**
   * Their client keeps one session per device of each side (`dd.pd` of their v0 messages, or an Init
   * naming its device): several devices on either side no longer mean version 0 with them.
   */
  perDevice?: boolean;
  /** Only in the entry under the identity's own key: how many devices its device list holds. */
  devices?: number;
  /**
   * The peer's device list as we know it (their `DEVICES` announcements merged, electron/core/devices/
   * deviceNews.ts), base64url of its encoding, with up to three earlier ones before it (newest last): its
   * hash is what our messages echo (`dd.dh`), and the peer may ask which list a hash it did not know was.
   */
  devlists?: string[];
  /**
   * Drop migration (PROTOCOL-V1.md 2c): the newest drops epoch of ours the peer acknowledged a message
   * naming our first drop in (`dropsSent`: the messages of the current epoch that did, `<session>/<epoch>/<n>`);
   * until it is our current epoch, every message to them names our first drop (sessions/sessionSender.ts).
   */
  dropsAcked?: number;
  dropsSent?: { epoch: number; refs: string[] };
  /** Their drops epoch of the newest message that named their drops (an intro), and when we last asked for their list (DROPS_REQ). */
  theirDrops?: number;
  dropsAskedAt?: number;
  /** When we last answered their DROPS_REQ with a contact update (once an hour). */
  dropsAnsweredAt?: number;
}

const peersShape = z.record(
  z.string(),
  z.object({
    v1: z.boolean().optional(),
    dropUrls: z.array(z.string()).optional(),
    since: z.number().optional(),
    active: z.string().optional(),
    pending: z.string().optional(),
    retired: z.record(z.string(), z.number()).optional(),
    reset: z.object({ pending: z.boolean(), at: z.number() }).optional(),
    needsReset: z.boolean().optional(),
    resetSentAt: z.number().optional(),
    resetReceivedAt: z.number().optional(),
    resetAnnounced: z.string().optional(),
    staleAnsweredAt: z.number().optional(),
    unanswered: z.array(z.object({ sessionId: z.string(), bodies: z.array(z.string()) })).optional(),
    multiDevice: z.boolean().optional(),
    perDevice: z.boolean().optional(),
    devices: z.number().optional(),
    devlists: z.array(z.string()).optional(),
    dropsAcked: z.number().optional(),
    dropsSent: z.object({ epoch: z.number(), refs: z.array(z.string()) }).optional(),
    theirDrops: z.number().optional(),
    dropsAskedAt: z.number().optional(),
    dropsAnsweredAt: z.number().optional(),
  }),
);
const PEERS_ID = 'peers';
const hexOf = (b64: string): string => Buffer.from(b64, 'base64url').toString('hex');

/** This device within its identity (electron/core/devices/deviceStore.ts `selfSync`). */
export interface OwnDevice {
  /** 16 hex. */
  selfId: string;
  /** This device's prekey, 64 hex each half. */
  prekey: string;
  prekeyPrivate: string;
  list: DeviceList;
}

export class SessionStore {
  /**
   * Where this device's id, prekey and the identity's device list come from (set by the engine; none:
   * one device without a list, as before device lists).
   */
  ownDevice: (identityId: string) => OwnDevice | null = () => null;
  /** Makes this device's entry when the identity has none yet (before an Init names our device). */
  ensureOwnDevice: (identityId: string) => Promise<void> = () => Promise.resolve();

  /** Opened states per identity (while unlocked); filled on first use. */
  private readonly open = new Map<string, Map<string, SessionState>>();
  /**
   * Per identity, how many times its sessions were forgotten (deleted, or replaced by a restored
   * backup). A state computed before that (a batch's claim, a seal under way) belongs to the identity's
   * earlier life: committing it would bring an old chain back, sealed under the new session epoch.
   */
  private readonly generations = new Map<string, number>();
  /** Per identity, sessions found stale when opened (a restored copy): id → the peer (`theirId`). */
  private readonly stale = new Map<string, Map<string, string>>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private file: SessionsFile,
    private readonly stateStore: StateStore,
    private readonly writeFile: (path: string, contents: string) => Promise<void>,
  ) {}

  /** Reads the sessions file; a missing or unreadable one starts empty (sessions are renegotiated, never trusted). */
  static async load(dataDir: string, stateStore: StateStore, writeFile = writeFileAtomic): Promise<SessionStore> {
    const path = join(dataDir, SESSIONS_FILE_NAME);
    let file: SessionsFile = { format: SESSIONS_FORMAT, version: 1, sessions: {}, peers: {} };
    try {
      const parsed = sessionsFileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (parsed.success) file = parsed.data;
    } catch {
      // Missing or damaged: no sessions. Peers' Session PDUs then cannot be opened, and our next message
      // to each starts a new Init, which is what a lost session needs anyway.
    }
    return new SessionStore(path, file, stateStore, writeFile);
  }

  /** Forgets the opened states (the engine locks); sealed ones stay in the file. */
  lock(): void {
    this.open.clear();
    this.stale.clear();
    this.peerCache.clear();
  }

  /** Every usable session of an identity: opened, checked, and not older than its mirrored counter. */
  sessions(identityId: string): SessionState[] {
    return [...this.opened(identityId).values()];
  }

  /** The sessions of an identity with one peer (several during a simultaneous Init). */
  sessionsWith(identityId: string, theirId: string): SessionState[] {
    return this.sessions(identityId).filter((state) => state.theirId === theirId);
  }

  /** Sessions with a peer found stale (rolled back): never used, deleted when the reset is sent. */
  staleWith(identityId: string, theirId: string): string[] {
    this.opened(identityId);
    return [...(this.stale.get(identityId) ?? new Map<string, string>())].filter(([, peer]) => peer === theirId).map(([id]) => id);
  }

  get(identityId: string, sessionId: string): SessionState | undefined {
    return this.opened(identityId).get(sessionId);
  }

  /**
   * Makes new states durable: the sessions file first, then the counters in the state file. Commits run
   * one after another in call order. A state whose counter is not above the committed one is ignored
   * (an older result applied late never replaces a newer state).
   */
  commit(identityId: string, states: readonly SessionState[], removed: readonly string[] = [], generation?: number): Promise<void> {
    const run = this.writing.then(async () => {
      if (this.stateStore.locked) throw new ApiFailure('locked', 'The engine is locked.');
      if (generation !== undefined && generation !== this.generation(identityId)) return; // from the identity's earlier life
      const opened = this.opened(identityId);
      const sealed = { ...(this.file.sessions[identityId] ?? {}) };
      const written: [string, number][] = [];
      for (const state of states) {
        const current = opened.get(state.id);
        if (current && current.counter >= state.counter) continue;
        sealed[state.id] = this.stateStore.sealSession(identityId, state.id, new TextEncoder().encode(JSON.stringify(state)));
        written.push([state.id, state.counter]);
      }
      for (const id of removed) {
        delete sealed[id];
        this.stale.get(identityId)?.delete(id);
      }
      if (written.length === 0 && removed.length === 0) return;
      // The first session with a peer dates its conversation's forward secrecy (in the same write).
      const peers = this.peersOf(identityId);
      const newPeers = states.filter((state) => !opened.has(state.id) && peers[hexOf(state.theirId)]?.since === undefined);
      let nextPeers = peers;
      let sealedPeers = this.file.peers;
      if (newPeers.length > 0) {
        nextPeers = { ...peers };
        const now = Date.now();
        for (const state of newPeers) nextPeers[hexOf(state.theirId)] = { ...nextPeers[hexOf(state.theirId)], v1: true, since: now };
        sealedPeers = { ...sealedPeers, [identityId]: this.stateStore.sealSession(identityId, PEERS_ID, new TextEncoder().encode(JSON.stringify(nextPeers))) };
      }
      const file: SessionsFile = { ...this.file, sessions: { ...this.file.sessions, [identityId]: sealed }, peers: sealedPeers };
      await this.writeFile(this.path, JSON.stringify(file));
      this.file = file;
      this.peerCache.set(identityId, nextPeers);
      for (const state of states) if (written.some(([id]) => id === state.id)) opened.set(state.id, structuredClone(state));
      for (const id of removed) opened.delete(id);
      await this.stateStore.setSessionCounters(identityId, written, removed);
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** Every peer we know something of, by public key hex. */
  peers(identityId: string): Record<string, PeerInfo> {
    return { ...this.peersOf(identityId) };
  }

  /** What we know of a peer of an identity. */
  peer(identityId: string, peerHex: string): PeerInfo {
    return this.peersOf(identityId)[peerHex] ?? {};
  }

  /**
   * Whether the identity is on several devices (its device list, electron/core/devices, as the last link
   * left it; kept in the entry under its own key). Also tells the v0 encoder to say so (`dd.md`).
   */
  severalDevices(identityId: string): boolean {
    const own = this.stateStore.identity(identityId).publicKey;
    const several = (this.peer(identityId, own).devices ?? 1) > 1;
    markSeveralDevices(own, several);
    return several;
  }

  /** Records how many devices the identity's list holds (after a link, on both devices). */
  async setOwnDevices(identityId: string, devices: number): Promise<void> {
    const own = this.stateStore.identity(identityId).publicKey;
    await this.setPeer(identityId, own, { devices });
    markSeveralDevices(own, devices > 1);
  }

  /** The peers of an identity we keep facts on (64 hex each; the identity's own key among them when it has an entry). */
  peerKeys(identityId: string): string[] {
    return Object.keys(this.peersOf(identityId));
  }

  /** Updates what we know of a peer (durable; written only when it changed). */
  setPeer(identityId: string, peerHex: string, patch: PeerInfo, generation?: number): Promise<void> {
    const run = this.writing.then(async () => {
      if (generation !== undefined && generation !== this.generation(identityId)) return;
      const peers = this.peersOf(identityId);
      const before = peers[peerHex] ?? {};
      const after = { ...before, ...patch };
      if (JSON.stringify(before) === JSON.stringify(after)) return;
      const next = { ...peers, [peerHex]: after };
      const sealed = this.stateStore.sealSession(identityId, PEERS_ID, new TextEncoder().encode(JSON.stringify(next)));
      const file: SessionsFile = { ...this.file, peers: { ...this.file.peers, [identityId]: sealed } };
      await this.writeFile(this.path, JSON.stringify(file));
      this.file = file;
      this.peerCache.set(identityId, next);
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  private readonly peerCache = new Map<string, Record<string, PeerInfo>>();

  private peersOf(identityId: string): Record<string, PeerInfo> {
    if (this.stateStore.locked) throw new ApiFailure('locked', 'The engine is locked.');
    let peers = this.peerCache.get(identityId);
    if (peers) return peers;
    peers = {};
    const sealed = this.file.peers[identityId];
    const plain = sealed ? this.stateStore.openSession(identityId, PEERS_ID, sealed) : null;
    if (plain) {
      try {
        const parsed = peersShape.safeParse(JSON.parse(new TextDecoder().decode(plain)));
        if (parsed.success) peers = parsed.data;
      } catch {
        // damaged: start afresh
      }
    }
    this.peerCache.set(identityId, peers);
    return peers;
  }

  /** The identity's generation (see `generations`): pass it to `commit` with states computed now. */
  generation(identityId: string): number {
    return this.generations.get(identityId) ?? 0;
  }

  /** Deletes every session of an identity (deleted, or replaced by a restored backup). */
  forgetIdentity(identityId: string): Promise<void> {
    // At once, not when the write runs: a commit queued before this one is refused too.
    this.generations.set(identityId, this.generation(identityId) + 1);
    const run = this.writing.then(async () => {
      this.open.delete(identityId);
      this.stale.delete(identityId);
      this.peerCache.delete(identityId);
      if (!(identityId in this.file.sessions) && !(identityId in this.file.peers)) return;
      const sessions = { ...this.file.sessions };
      delete sessions[identityId];
      const peers = { ...this.file.peers };
      delete peers[identityId];
      const file: SessionsFile = { ...this.file, sessions, peers };
      await this.writeFile(this.path, JSON.stringify(file));
      this.file = file;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** Resolves when every commit made so far is on disk (or failed). */
  settled(): Promise<void> {
    return this.writing;
  }

  private opened(identityId: string): Map<string, SessionState> {
    if (this.stateStore.locked) throw new ApiFailure('locked', 'The engine is locked.');
    let states = this.open.get(identityId);
    if (states) return states;
    states = new Map();
    for (const [sessionId, sealed] of Object.entries(this.file.sessions[identityId] ?? {})) {
      const plain = this.stateStore.openSession(identityId, sessionId, sealed);
      if (!plain) continue; // sealed for an earlier life of the identity, or damaged
      let state: SessionState;
      try {
        const parsed = sessionShape.safeParse(JSON.parse(new TextDecoder().decode(plain)));
        if (!parsed.success || parsed.data.id !== sessionId) continue;
        state = parsed.data as unknown as SessionState;
      } catch {
        continue;
      }
      // A restored copy: its chains were used after it was written; using them again would reuse keys.
      // The peer still holds the newer state: our next message to them starts a reset.
      if (isStale(state, this.stateStore.sessionCounter(identityId, sessionId))) {
        if (!this.stale.has(identityId)) this.stale.set(identityId, new Map());
        this.stale.get(identityId)!.set(sessionId, state.theirId);
        continue;
      }
      states.set(sessionId, state);
    }
    this.open.set(identityId, states);
    return states;
  }
}
