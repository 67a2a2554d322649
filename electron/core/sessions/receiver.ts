/**
 * The receiving side of version-1 sessions inside the poller (PROTOCOL-V1.md 1c "Receiver algorithm"):
 * a tag table over every session of every identity finds our Session PDUs without crypto (main thread,
 * one hash probe per PDU); Init PDUs come from the crypto pool, which checks the Init tag with the dh1
 * its v0 trial computed anyway; both are opened here with the ratchet library.
 *
 * Crash safety (DESIGN.md: the cursor moves only when the UI acknowledged a batch): a session state
 * changed while opening a batch is held as a claim of that batch, and committed to the session store
 * only when the batch is acknowledged, before its cursor. A crash or a lock before that forgets the
 * claim, and the next poll opens the same PDUs against the committed state with the same result.
 *
 * Two batches of two drops touching one session are serialised: a PDU of a session another drop's
 * unacknowledged batch holds is not opened now but left for a later poll (the collector treats it as
 * not read, so its drop's cursor stays before it). Overlaying the second batch on the first would make
 * the second's commit carry the first's changes, and a crash between the two acknowledgements would
 * then lose the first batch's messages. A later poll of the *same* drop supersedes its unacknowledged
 * batch instead: it reads that batch's PDUs again from the same cursor, so it opens them again from the
 * committed state and its claim holds all of the first one's changes (acknowledging it acknowledges
 * the older batch, as for version 0), and a UI that never acknowledges a batch still gets what follows.
 *
 * Sending never waits for a batch (sessions/sessionSender.ts): it seals from the *committed* state and
 * commits the advanced sending chain at once. A claim holds a state derived from an older committed
 * one, so when its batch is acknowledged the claim's state takes the committed sending part first
 * (`mergeSending`): the further-advanced chain of the same sending epoch, or, when the claim stepped the
 * ratchet, the count of what we sent in the epoch it left (its PN). Commits and seals take turns
 * (`exclusive`), so a seal never slips between reading the committed state and replacing it, and an
 * acknowledgement never puts back a sending chain that already sealed further: that would reuse a
 * message key. A crash with the batch unacknowledged replays it against the committed state, which
 * holds every seal.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { type Logger, createLogger } from '../../../shared/log.js';
import type { PeerInfo, SessionStore } from '../state/sessionStore.js';
import type { StateStore } from '../state/stateStore.js';
import { type Body, MessageType } from '../v1/body.js';
import { type RandomSource, b64, sha256, unb64 } from '../v1/primitives.js';
import { INIT_FLAG_QPK_STALE, INIT_FLAG_RESET, OFF_H, OFF_T, type SessionState, openInitWithDh, openSession } from '../v1/session.js';
import { TagTable } from '../v1/tagTable.js';
import { RESET_INTERVAL_MS, activationPatch, peerAnswered } from './resets.js';
import { type Intro, namesDrops } from './content.js';

/** Our message (epoch, n) in a session, as the peer's acknowledgement vectors name it. */
export interface SentRef {
  sessionId: string;
  epoch: number;
  n: number;
}

/** One batch being opened (a collector), then emitted; its claims are committed or forgotten together. */
export class Claim {
  /** The drop polled (null: not a poll); `bound` once its batch was emitted. */
  constructor(readonly dropUrl: string | null = null) {}
  bound = false;
  readonly states = new Map<string, { identityId: string; state: SessionState }>();
  /** Each identity's session-store generation when this claim first touched it (see `SessionStore.generation`). */
  readonly generations = new Map<string, number>();
  /** `<identity id> <peer hex>` of senders who showed they speak version 1 (noted when committed). */
  readonly v1Peers = new Set<string>();
  /** `<identity id> <peer hex>` → our messages their ackv newly acknowledged (told when committed). */
  readonly acked = new Map<string, SentRef[]>();
  /** Sessions in which this batch opened a message that wants a PING (not a PING itself). */
  readonly owesPing = new Set<string>();
  /** `<identity id> <peer hex>` → what changes for the peer when the batch is committed (resets). */
  readonly peerPatches = new Map<string, PeerInfo>();
  /** `<identity id> <peer hex>` of peers whose Init named a prekey we do not know (answered after commit). */
  readonly staleQpk = new Set<string>();
  /** `<identity id> <peer hex>` → sessions of ours they never answered and will not (their `qpk_stale` Init). */
  readonly abandoned = new Map<string, string[]>();
  /** `<identity id> <peer hex>` of peers we hold a session with who wrote a version-0 message (see `noteV0`). */
  readonly v0From = new Set<string>();
  /** Identities whose reset state changed (the UI hears `sessions/changed`). */
  readonly changed = new Set<string>();
  /**
   * `<identity id> <peer hex>` → a session the peer started that this claim admitted (taken, or pending
   * for the user), and the peer facts that decision patched (see `SessionReceiver.decided`).
   */
  readonly admitted = new Map<string, { sessionId: string; fields: (keyof PeerInfo)[] }>();
  /** `<identity id> <peer hex>` of peers whose drops epoch is newer than their last list we had, and who sent none (we ask). */
  readonly dropsWanted = new Set<string>();
  /** `<identity id> <peer hex>` of peers who asked for our drop list (DROPS_REQ). */
  readonly dropsRequested = new Set<string>();
}

/** Drops epochs are u16 counters that wrap: `a` is newer than `b` when it is ahead by less than half the circle. */
export function dropsEpochNewer(a: number, b: number): boolean {
  const ahead = (a - b) & 0xffff;
  return ahead > 0 && ahead < 0x8000;
}

export type V1Opened =
  /**
   * `listFresh`: the body names the sender's drops (an intro) at a drops epoch not older than the last
   * list we had from them: the UI may take that drop (a re-posted old message must not bring back a drop
   * they moved away from). `devlistHash`: the header's echo of our device list as the peer knows it (null: none).
   */
  | {
      kind: 'opened';
      identityId: string;
      theirKey: string;
      body: Body;
      sessionId: string;
      acked: { epoch: number; n: number }[];
      unconfirmed: boolean;
      listFresh: boolean;
      devlistHash: string | null;
    }
  /** Held by another unacknowledged batch: read it again later. */
  | { kind: 'busy' }
  | { kind: 'duplicate' }
  | null;

/** Who hears what the receiver committed (set by the session sender and the engine). */
export interface ReceiverListeners {
  /** Sessions changed for good after receiving (the sender schedules PINGs, the outbox retries a full window). */
  committed?: ((identityId: string, states: readonly SessionState[]) => void) | undefined;
  /** Our messages that a committed batch's ackv newly acknowledged. */
  peerAcked?: ((identityId: string, peerHex: string, refs: SentRef[]) => void) | undefined;
  /** The UI should fetch `sessions/status` again (a reset waits for its answer, or happened). */
  sessionsChanged?: ((identityId: string) => void) | undefined;
  /** An Init named a prekey we do not know: answer with a plain Init carrying `qpk_stale`. */
  staleQpk?: ((identityId: string, peerHex: string) => void) | undefined;
  /** The peer answered our Init with `qpk_stale`: what we sealed in these sessions never arrives. */
  abandoned?: ((identityId: string, peerHex: string, sessionIds: string[]) => void) | undefined;
  /** The peer's drops changed and its message did not say how: ask for its list (DROPS_REQ). */
  dropsWanted?: ((identityId: string, peerHex: string) => void) | undefined;
  /** The peer asked for our drop list (DROPS_REQ): answer with a contact update. */
  dropsRequested?: ((identityId: string, peerHex: string) => void) | undefined;
}

export interface ReceiverOptions {
  stateStore: StateStore;
  sessions: SessionStore;
  now(): number;
  logger?: Logger;
}

export const hexOfB64 = (text: string): string => unb64(text).toString('hex');
export const b64OfHex = (hex: string): string => b64(Buffer.from(hex, 'hex'));
const peerKey = (identityId: string, peerHex: string): string => `${identityId} ${peerHex}`;
const splitKey = (key: string): [string, string] => key.split(' ') as [string, string];

/**
 * The claim's state with the committed state's sending part: both derive from one committed state, the
 * claim by receiving, the committed one by sealing meanwhile. Never regresses a sending chain: null
 * when the committed state already stepped the ratchet in another way (then the claim is dropped and
 * its PDUs are read again; see `freshKeys` for why that does not happen within one run).
 */
export function mergeSending(claimed: SessionState, committed: SessionState, owesPing: boolean): SessionState | null {
  if (committed.sendEpoch > claimed.sendEpoch || (committed.sendEpoch === claimed.sendEpoch && committed.dhsPub !== claimed.dhsPub)) return null;
  const next = structuredClone(claimed);
  // Did we seal since the claim's base state? Then its sent count of that epoch is behind.
  const sealedSince = committed.sent.some((sent) => sent.count > (claimed.sent.find((s) => s.e === sent.e && s.hash === sent.hash)?.count ?? sent.count));
  if (next.sendEpoch === committed.sendEpoch && next.dhsPub === committed.dhsPub) {
    // The same sending chain: the one that sealed further is ahead (the claim never seals).
    if (committed.ns > next.ns) {
      next.ns = committed.ns;
      next.cks = committed.cks;
    }
  } else if (next.sendEpoch === committed.sendEpoch + 1) {
    // The claim stepped the ratchet before the seal: the epoch it left holds what we sealed since, so
    // its PN (in every header of the new epoch) must count them, or the peer would drop their keys.
    next.pn = Math.max(next.pn, committed.ns);
  }
  for (const sent of committed.sent) {
    const mine = next.sent.find((s) => s.e === sent.e && s.hash === sent.hash);
    if (mine) mine.count = Math.max(mine.count, sent.count);
  }
  // A seal answered everything the committed state had received; only what this batch opened still owes one.
  if (sealedSince) next.pingOwed = owesPing;
  next.counter = Math.max(next.counter, committed.counter) + 1;
  return next;
}

export class SessionReceiver {
  private table: TagTable | null = null;
  /** Session id → its identity, for the sessions in the table. */
  private readonly owner = new Map<string, string>();
  /** Session id → the unacknowledged batch holding it. */
  private readonly holders = new Map<string, Claim>();
  private readonly batches = new Map<string, Claim>();
  /**
   * Sessions a peer started whose admission a committed claim decided, in this run. The poller reads a
   * drop again before its batch is acknowledged, so two claims may open the same Init as a new session
   * (the same id: `freshKeys`), each deciding from the peer facts it saw. The first commit decides; the
   * user may answer that (accept, reject) before the second batch is acknowledged, and the second
   * claim's decision, taken from the facts of before, would undo the answer: a reset pending again after
   * it was accepted, or a rejected session back. In memory only: claims do not outlive the run either.
   */
  private readonly decided = new Set<string>();
  private readonly log: Logger;
  private readonly listeners: ReceiverListeners[] = [];
  /** Seals and commits take turns (see the header). */
  private turn: Promise<void> = Promise.resolve();
  /**
   * Keys the fresh ratchet keys of opening (see `freshKeys`): in memory only, new for every run of the
   * engine, never in the state file.
   */
  private readonly ratchetSecret = randomBytes(32);

  /**
   * The randomness for the key pair that opening a PDU may generate (a ratchet step, a responder's
   * first key): the same for the same state and PDU within this run. A later poll of the same drop
   * opens an unacknowledged batch's PDUs again from the committed state; with fresh OS randomness its
   * ratchet step would pick another key than the first batch's, and whichever batch is acknowledged
   * second would replace the root and sending chains the first one's commit (and the seals after it)
   * already used. Within a run the two claims now step alike. Not derivable from anything at rest:
   * a stolen state file does not predict our next ratchet key (post-compromise security holds), and
   * after a restart nothing uncommitted of the earlier run is left to agree with.
   */
  private freshKeys(...parts: (string | Uint8Array)[]): RandomSource {
    let block = 0;
    return (length) => {
      const out = Buffer.alloc(length);
      for (let at = 0; at < length; at += 32) {
        const mac = createHmac('sha256', this.ratchetSecret).update('DD1 engine ratchet').update(Buffer.from([block++]));
        for (const part of parts) mac.update(typeof part === 'string' ? Buffer.from(part, 'utf8') : part).update('\0');
        mac.digest().copy(out, at);
      }
      return new Uint8Array(out);
    };
  }

  constructor(private readonly options: ReceiverOptions) {
    this.log = options.logger ?? createLogger('sessions');
  }

  /** Adds listeners; returns how to remove them. */
  listen(listeners: ReceiverListeners): () => void {
    this.listeners.push(listeners);
    return () => {
      const index = this.listeners.indexOf(listeners);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  private tell<K extends keyof ReceiverListeners>(name: K, ...args: Parameters<NonNullable<ReceiverListeners[K]>>): void {
    for (const listener of [...this.listeners]) {
      try {
        (listener[name] as ((...a: typeof args) => void) | undefined)?.(...args);
      } catch (err) {
        this.log.warn('session listener failed', { listener: name, error: err instanceof Error ? err.message : 'unknown' });
      }
    }
  }

  /** Runs `work` when no other seal or commit runs (they take turns, in call order). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work);
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** The table of every session of the given identities (built on first use after unlock or a commit elsewhere). */
  private tags(identityIds: readonly string[]): TagTable {
    if (this.table) return this.table;
    const table = new TagTable();
    this.owner.clear();
    for (const identityId of identityIds) {
      for (const state of this.options.sessions.sessions(identityId)) {
        table.setSession(this.holders.get(state.id)?.states.get(state.id)?.state ?? state);
        this.owner.set(state.id, identityId);
      }
    }
    for (const claim of new Set(this.holders.values())) {
      for (const [id, { identityId, state }] of claim.states) {
        if (this.owner.has(id)) continue;
        table.setSession(state);
        this.owner.set(id, identityId);
      }
    }
    this.table = table;
    return table;
  }

  /** Forgets the table (the sessions changed outside: a new session sent from, an identity deleted). */
  invalidate(): void {
    this.table = null;
  }

  /** The engine locks: claims are forgotten (their batches are read again after unlocking). */
  forget(): void {
    this.table = null;
    this.holders.clear();
    this.batches.clear();
    this.decided.clear();
    this.options.sessions.lock();
  }

  /** True when this PDU's tag (bytes 33..49) names a session of one of these identities. */
  isSessionPdu(pdu: Uint8Array, identityIds: readonly string[]): boolean {
    if (this.options.stateStore.locked) return false;
    return this.tags(identityIds).lookup(pdu.subarray(OFF_T, OFF_H)) !== undefined;
  }

  private current(claim: Claim, identityId: string, sessionId: string): SessionState | undefined | 'busy' {
    const holder = this.holders.get(sessionId);
    const superseded = holder !== undefined && holder.bound && holder.dropUrl !== null && holder.dropUrl === claim.dropUrl;
    if (holder && holder !== claim && !superseded) return 'busy';
    return claim.states.get(sessionId)?.state ?? this.options.sessions.get(identityId, sessionId);
  }

  private touch(claim: Claim, identityId: string): void {
    if (!claim.generations.has(identityId)) claim.generations.set(identityId, this.options.sessions.generation(identityId));
  }

  private hold(claim: Claim, identityId: string, state: SessionState): void {
    this.touch(claim, identityId);
    claim.states.set(state.id, { identityId, state });
    this.holders.set(state.id, claim);
    this.owner.set(state.id, identityId);
    this.table?.setSession(state);
  }

  /** What we know of a peer as this batch would leave it. */
  private peerView(claim: Claim, identityId: string, peerHex: string): PeerInfo {
    return { ...this.options.sessions.peer(identityId, peerHex), ...claim.peerPatches.get(peerKey(identityId, peerHex)) };
  }

  private patchPeer(claim: Claim, identityId: string, peerHex: string, patch: PeerInfo): void {
    this.touch(claim, identityId);
    const key = peerKey(identityId, peerHex);
    claim.peerPatches.set(key, { ...claim.peerPatches.get(key), ...patch });
  }

  /** A version-1 sender showed up in this claim (`<identity id> <peer hex>` into `claim.v1Peers`). */
  noteV1Peer(claim: Claim, identityId: string, peerHex: string): void {
    this.touch(claim, identityId);
    claim.v1Peers.add(peerKey(identityId, peerHex));
  }

  /** Opens a Session PDU the table named. */
  openSessionPdu(claim: Claim, pdu: Uint8Array, identityIds: readonly string[]): V1Opened {
    const hit = this.tags(identityIds).lookup(pdu.subarray(OFF_T, OFF_H));
    if (!hit) return null;
    const identityId = this.owner.get(hit.sessionId);
    if (!identityId) return null;
    const state = this.current(claim, identityId, hit.sessionId);
    if (state === 'busy') return { kind: 'busy' };
    if (!state) return null;
    const result = openSession(state, pdu, this.options.now(), this.freshKeys('session', state.id, state.rk, state.dhsPub));
    if (!result) return null;
    if ('duplicate' in result) return { kind: 'duplicate' };
    this.hold(claim, identityId, result.state);
    const theirKey = hexOfB64(result.state.theirId);
    if (result.body.type !== MessageType.PING) claim.owesPing.add(result.state.id);
    if (result.acked.length > 0) {
      const key = peerKey(identityId, theirKey);
      claim.acked.set(key, [...(claim.acked.get(key) ?? []), ...result.acked.map((ref) => ({ sessionId: result.state.id, ...ref }))]);
    }
    if (result.body.type === MessageType.RESET) this.resetAnnounced(claim, identityId, theirKey, result.state.id, result.body);
    if (result.body.type === MessageType.DROPS_REQ) claim.dropsRequested.add(peerKey(identityId, theirKey));
    const listFresh = this.dropsSeen(claim, identityId, theirKey, result.dropsEpoch, namesDrops(result.body));
    const unconfirmed = this.peerView(claim, identityId, theirKey).pending === result.state.id;
    return { kind: 'opened', identityId, theirKey, body: result.body, sessionId: result.state.id, acked: result.acked, unconfirmed, listFresh, devlistHash: result.devlistHash };
  }

  /**
   * A message of the peer carried its drops epoch (PROTOCOL-V1.md 2c step 3, authenticated inside the
   * session): one that names their drops (an intro, a contact update) at a newer epoch becomes the epoch we know; one at a
   * newer epoch that names none means we missed their change, and we ask for the list after the batch
   * is committed. True when the message's drop may be taken (not older than what we know).
   */
  private dropsSeen(claim: Claim, identityId: string, peerHex: string, epoch: number, carriesList: boolean): boolean {
    const known = this.peerView(claim, identityId, peerHex).theirDrops;
    const newer = known === undefined || dropsEpochNewer(epoch, known);
    if (carriesList) {
      if (newer) this.patchPeer(claim, identityId, peerHex, { theirDrops: epoch });
      return newer || epoch === known;
    }
    // Without a list we know nothing to compare with: the first message naming their drops sets it.
    if (known !== undefined && newer) claim.dropsWanted.add(peerKey(identityId, peerHex));
    return false;
  }

  /**
   * A RESET body inside a session we write in names the session its sender is starting (PROTOCOL-V1.md
   * 1c "RESET": inside the current session it is accepted without asking). If that session's Init came
   * first and waits for the user, it is taken now; otherwise its Init will be.
   */
  private resetAnnounced(claim: Claim, identityId: string, peerHex: string, carrier: string, body: Body): void {
    const view = this.peerView(claim, identityId, peerHex);
    if (body.content.length !== 16 || carrier === view.pending || carrier in (view.retired ?? {})) return;
    const announced = b64(body.content);
    if (view.pending === announced) {
      this.patchPeer(claim, identityId, peerHex, {
        ...activationPatch(this.options.sessions, identityId, peerHex, announced, this.options.now()),
        pending: undefined,
        reset: { pending: false, at: this.options.now() },
      });
      claim.changed.add(identityId);
    } else {
      this.patchPeer(claim, identityId, peerHex, { resetAnnounced: announced });
    }
  }

  /** Opens a PDU the crypto pool took for an Init to `identity` (dh1 from its trial). */
  openInitPdu(claim: Claim, identityId: string, pair: KeyPair, dh1: Uint8Array, pdu: Uint8Array): V1Opened {
    let busy = false;
    const now = this.options.now();
    // This device's prekey opens Init PDUs a contact addressed to this device (per-device sessions,
    // sessions/devices.ts); the QR prekeys those written from our card.
    const own = this.options.sessions.ownDevice(identityId);
    const devicePrekey = own ? [{ public: b64(Buffer.from(own.prekey, 'hex')), private: b64(Buffer.from(own.prekeyPrivate, 'hex')), id: '' }] : [];
    const result = openInitWithDh(
      dh1,
      {
        ourIdentity: pair,
        qrPrekeys: [
          ...this.options.stateStore.qrPrekeyPairs(identityId, now).map((prekey) => ({ public: b64(prekey.publicKey), private: b64(prekey.privateKey), id: '' })),
          ...devicePrekey,
        ],
        deviceId: own ? new Uint8Array(Buffer.from(own.selfId, 'hex')) : undefined,
        random: this.freshKeys('init', identityId, sha256(pdu)),
        existing: (sessionId) => {
          const state = this.current(claim, identityId, sessionId);
          if (state === 'busy') {
            busy = true;
            return undefined;
          }
          return state;
        },
      },
      pdu,
      now,
    );
    if (busy) return { kind: 'busy' };
    if (!result) return null;
    if ('duplicate' in result) return { kind: 'duplicate' };
    if ('staleQpk' in result) {
      // On several devices, an Init none of our keys opens is most likely addressed to a sibling (keyed
      // with its device prekey; the prekey id sits inside the part only that prekey opens): skipped
      // silently, never answered with qpk_stale (that would reset the sibling's new session).
      if (own && own.list.devices.length > 1) return null;
      claim.staleQpk.add(peerKey(identityId, Buffer.from(result.theirIdentityPublic).toString('hex')));
      return null;
    }
    const theirKey = hexOfB64(result.state.theirId);
    // An Init naming its device comes from a client that keeps sessions per device.
    if (result.theirDevice !== null && this.peerView(claim, identityId, theirKey).perDevice !== true) this.patchPeer(claim, identityId, theirKey, { perDevice: true });
    if (result.created && !this.admitNewSession(claim, identityId, theirKey, result.state, result.flags)) return null;
    this.hold(claim, identityId, result.state);
    if (result.body.type !== MessageType.PING) claim.owesPing.add(result.state.id);
    const listFresh = this.dropsSeen(claim, identityId, theirKey, result.dropsEpoch, namesDrops(result.body));
    const unconfirmed = this.peerView(claim, identityId, theirKey).pending === result.state.id;
    return { kind: 'opened', identityId, theirKey, body: result.body, sessionId: result.state.id, acked: [], unconfirmed, listFresh, devlistHash: result.devlistHash };
  }

  /**
   * Where a session the peer just started stands (PROTOCOL-V1.md 1c "RESET", "Simultaneous Init", "Stale
   * QPK"). An Init proves only the sender's identity key. While we hold an *established* session with
   * them (one they answered: we received a Session PDU in it), a new one is a reset: taken at once only
   * when the old session announced it (RESET body), otherwise held *pending* for the user's answer, at
   * most one per hour (a second is not opened: a peer's engine never starts two within the hour). Without
   * an established session it is taken: a simultaneous Init (both stay, `chooseActive` picks one alike
   * on both sides), the first session, or a reset of a peer that lost it (the reset flag makes it ours).
   * An Init with `qpk_stale` answers ours that named a prekey they lost: it replaces our unanswered Inits.
   * False: not admitted (the PDU stays unopened).
   */
  private admitNewSession(claim: Claim, identityId: string, peerHex: string, state: SessionState, flags: number): boolean {
    const { sessions } = this.options;
    const now = this.options.now();
    const view = this.peerView(claim, identityId, peerHex);
    // Per device of the peer (PROTOCOL-V1.md 5c): an Init from another device of theirs starts that
    // device's session beside the others, it resets nothing. One naming no device compares with the
    // sessions naming none (as before device ids).
    const others = sessions
      .sessionsWith(identityId, state.theirId)
      .map((s) => claim.states.get(s.id)?.state ?? s)
      .filter((s) => s.id !== state.id && s.id !== view.pending && !(s.id in (view.retired ?? {})) && s.theirDevice === state.theirDevice);
    const established = others.some(peerAnswered);
    const unanswered = others.filter((s) => s.role === 'initiator' && !s.confirmed).map((s) => s.id);
    const admit = (patch: PeerInfo): void => {
      this.patchPeer(claim, identityId, peerHex, patch);
      claim.admitted.set(peerKey(identityId, peerHex), { sessionId: state.id, fields: Object.keys(patch) as (keyof PeerInfo)[] });
    };
    const take = (reset: boolean): void => {
      admit({
        ...activationPatch(sessions, identityId, peerHex, state.id, now, state.theirDevice),
        ...(reset ? { reset: { pending: false, at: now }, resetReceivedAt: now, resetAnnounced: undefined } : {}),
      });
      if (reset) claim.changed.add(identityId);
    };
    if ((flags & INIT_FLAG_QPK_STALE) !== 0 && unanswered.length > 0 && !established) {
      take(false);
      claim.abandoned.set(peerKey(identityId, peerHex), unanswered);
      return true;
    }
    if (!established) {
      if ((flags & INIT_FLAG_RESET) !== 0) take(true);
      return true;
    }
    if (view.resetAnnounced === state.id) {
      take(true);
      return true;
    }
    if (view.pending !== undefined || (view.resetReceivedAt !== undefined && now - view.resetReceivedAt < RESET_INTERVAL_MS)) {
      this.log.warn('a second session reset within the hour was not opened');
      return false;
    }
    admit({ pending: state.id, reset: { pending: true, at: now }, resetReceivedAt: now });
    claim.changed.add(identityId);
    return true;
  }

  /**
   * A version-0 message (not a receipt) from a peer whose client speaks version 1: if we hold a session
   * they answered, they lost it (a restored backup, a new install), and our next message starts a reset.
   */
  noteV0(claim: Claim, identityId: string, peerHex: string): void {
    this.touch(claim, identityId);
    // A peer on several devices writes v0 on purpose (`dd.md`): not a sign that it lost its session.
    // Nor is one keeping per-device sessions while either side is on several devices: its engine-only
    // boxes (device lists) are v0 whatever sessions exist.
    const view = this.peerView(claim, identityId, peerHex);
    if (view.multiDevice || (view.perDevice && (this.options.sessions.severalDevices(identityId) || (this.options.sessions.ownDevice(identityId)?.list.devices.length ?? 1) > 1))) return;
    // As far as this PDU: a session PDU they sent before it in this batch counts, one after it does not.
    const answered = this.options.sessions
      .sessionsWith(identityId, b64OfHex(peerHex))
      .map((s) => claim.states.get(s.id)?.state ?? s)
      .some(peerAnswered);
    if (answered) claim.v0From.add(peerKey(identityId, peerHex));
  }

  /**
   * A v0 message of the peer said whether its identity is on several devices (`dd.md`; a `dd` without
   * it: one device again). Marked, no session is written in with them (sessions/sessionSender.ts
   * `speaksV1`); cleared, the usual upgrade applies. Committed with the batch; the UI hears of a change.
   * Per-device sessions (`dd.pd`, or an Init naming its device) once shown stay: a v0 message without
   * `pd` does not take them back. Anyone holding the peer's identity key can seal one (the thief of the
   * injection alarm did, with `md` alone), and clearing it made every contact of the peer write version
   * 0, which that key opens, until the peer's next Init.
   */
  noteDevices(claim: Claim, identityId: string, peerHex: string, several: boolean, perDevice = false): void {
    const view = this.peerView(claim, identityId, peerHex);
    const keeps = perDevice || view.perDevice === true;
    if ((view.multiDevice === true) === several && (view.perDevice === true) === keeps) return;
    this.patchPeer(claim, identityId, peerHex, { multiDevice: several ? true : undefined, perDevice: keeps ? true : undefined });
    claim.changed.add(identityId);
  }

  /** The claim's batch was emitted as `batchId`: its states wait for that acknowledgement. */
  bind(claim: Claim, batchId: string): void {
    claim.bound = true;
    if (!isEmpty(claim)) this.batches.set(batchId, claim);
  }

  /** Sessions deleted for good (a retirement ended): their tags leave the table. */
  removed(sessionIds: readonly string[]): void {
    for (const id of sessionIds) {
      this.table?.removeSession(id);
      this.owner.delete(id);
    }
  }

  /** Tells the UI's listeners that an identity's sessions changed (a reset we started). */
  changed(identityId: string): void {
    this.tell('sessionsChanged', identityId);
  }

  /** What our Init PDUs tell about us (sessions/content.ts INTRO): the identity's alias and first drop. */
  introOf(identityId: string): Intro {
    const identity = this.options.stateStore.identity(identityId);
    return { alias: identity.alias, dropUrl: identity.dropUrls[0] };
  }

  /** The identity's alias, drop list and drops epoch as they are now (what a contact update tells). */
  ownDrops(identityId: string): { alias: string; dropUrls: string[]; epoch: number } {
    const identity = this.options.stateStore.identity(identityId);
    return { alias: identity.alias, dropUrls: [...identity.dropUrls], epoch: this.options.stateStore.dropsEpoch(identityId) };
  }

  /** A sender committed `state` (the table learns a new session's tags; a claimed session keeps the claim's). */
  sent(identityId: string, state: SessionState): void {
    this.owner.set(state.id, identityId);
    if (!this.holders.has(state.id)) this.table?.setSession(state);
  }

  /** The batch was acknowledged: its session states become durable (before the caller moves the cursor). */
  async commitBatch(batchId: string): Promise<void> {
    const claim = this.batches.get(batchId);
    if (!claim) return;
    this.batches.delete(batchId);
    await this.commit(claim);
  }

  /** Commits a claim whose batch had nothing for the UI (PINGs, duplicates only), or an acknowledged one. */
  async commit(claim: Claim): Promise<void> {
    const { sessions } = this.options;
    const told: (() => void)[] = [];
    try {
      await this.exclusive(async () => {
        // Admissions another claim already committed (see `decided`): not decided again. Their session
        // is committed only if it still exists (a rejected one stays deleted).
        const stale = new Set([...claim.admitted].filter(([, { sessionId }]) => this.decided.has(sessionId)).map(([key]) => key));
        const staleSessions = new Set([...stale].map((key) => claim.admitted.get(key)!.sessionId));
        const byIdentity = new Map<string, SessionState[]>();
        for (const { identityId, state } of claim.states.values()) {
          const committed = sessions.get(identityId, state.id);
          if (!committed && staleSessions.has(state.id)) {
            this.table?.removeSession(state.id);
            continue;
          }
          const merged = committed ? mergeSending(state, committed, claim.owesPing.has(state.id)) : state;
          if (!merged) {
            this.log.warn('a claimed session state that forked from the committed one was dropped');
            this.table = null;
            continue;
          }
          byIdentity.set(identityId, [...(byIdentity.get(identityId) ?? []), merged]);
        }
        for (const [identityId, states] of byIdentity) {
          // Opened before the identity was deleted or restored from a backup: never committed.
          await sessions.commit(identityId, states, [], claim.generations.get(identityId));
          told.push(() => this.tell('committed', identityId, states));
        }
        for (const key of claim.v0From) {
          const [identityId, peerHex] = splitKey(key);
          // A session of theirs came in the same batch (what noteDevices patched does not count).
          if (Object.keys(claim.peerPatches.get(key) ?? {}).some((field) => field !== 'multiDevice' && field !== 'perDevice')) continue;
          // Not on its own: anyone holding their identity key can write v0 as them, and a reset of ours
          // without a prekey is keyed with that key. The user decides (sessions/confirmReset).
          this.patchPeer(claim, identityId, peerHex, { needsReset: true, reset: { pending: true, at: this.options.now() } });
          claim.changed.add(identityId);
        }
        for (const key of claim.v1Peers) {
          const [identityId, peer] = splitKey(key);
          if (!claim.generations.has(identityId)) continue; // v1Peers are noted with the claim's first look at the identity
          this.patchPeer(claim, identityId, peer, { v1: true });
        }
        for (const [key, claimed] of claim.peerPatches) {
          const [identityId, peerHex] = splitKey(key);
          const patch = stale.has(key) ? withoutFields(claimed, claim.admitted.get(key)!.fields) : claimed;
          // A pending session whose states did not survive (never committed) is not pending.
          if (patch.pending !== undefined && !sessions.get(identityId, patch.pending)) continue;
          await sessions.setPeer(identityId, peerHex, patch, claim.generations.get(identityId) ?? sessions.generation(identityId));
        }
        // Only what was committed (a claim from before a restore commits nothing).
        for (const [key, { sessionId }] of claim.admitted) if (sessions.get(splitKey(key)[0], sessionId)) this.decided.add(sessionId);
      });
      for (const tell of told) tell();
      for (const [key, refs] of claim.acked) this.tell('peerAcked', ...splitKey(key), refs);
      for (const identityId of claim.changed) this.tell('sessionsChanged', identityId);
      for (const key of claim.staleQpk) this.tell('staleQpk', ...splitKey(key));
      for (const [key, ids] of claim.abandoned) this.tell('abandoned', ...splitKey(key), ids);
      for (const key of claim.dropsWanted) this.tell('dropsWanted', ...splitKey(key));
      for (const key of claim.dropsRequested) this.tell('dropsRequested', ...splitKey(key));
    } finally {
      this.release(claim, false);
    }
  }

  /** A batch that will never be acknowledged (dropped from the pending list, or not emitted). */
  releaseBatch(batchId: string): void {
    const claim = this.batches.get(batchId);
    this.batches.delete(batchId);
    if (claim) this.release(claim, true);
  }

  /**
   * Forgets a claim; `revert` puts the committed states of its sessions back in the table (only those:
   * rebuilding the whole table after every failed poll would cost a tag computation per session).
   */
  release(claim: Claim, revert: boolean): void {
    const mine = [...claim.states].filter(([id]) => this.holders.get(id) === claim);
    for (const [id] of mine) this.holders.delete(id);
    if (revert && mine.length > 0) {
      this.log.debug('uncommitted session changes forgotten', { sessions: mine.length });
      for (const [id, { identityId }] of mine) {
        const committed = this.options.stateStore.locked ? undefined : this.options.sessions.get(identityId, id);
        if (committed) this.table?.setSession(committed);
        else this.table?.removeSession(id);
      }
    }
    claim.states.clear();
    claim.v1Peers.clear();
    claim.acked.clear();
    claim.owesPing.clear();
    claim.peerPatches.clear();
    claim.staleQpk.clear();
    claim.abandoned.clear();
    claim.v0From.clear();
    claim.changed.clear();
    claim.admitted.clear();
    claim.dropsWanted.clear();
    claim.dropsRequested.clear();
  }
}

function withoutFields(patch: PeerInfo, fields: readonly (keyof PeerInfo)[]): PeerInfo {
  const rest: PeerInfo = { ...patch };
  for (const field of fields) delete rest[field];
  return rest;
}

function isEmpty(claim: Claim): boolean {
  return claim.states.size === 0 && claim.v1Peers.size === 0 && claim.staleQpk.size === 0 && claim.v0From.size === 0 && claim.peerPatches.size === 0;
}
