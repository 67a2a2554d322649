/**
 * The sending side of version-1 sessions (PROTOCOL-V1.md 1c "Capability negotiation"): which protocol
 * a message to a contact goes out in, and its sealing.
 *
 * - A session we write in exists (sessions/resets.ts `activeSession`): Session PDUs (Init PDUs while we
 *   initiated and no answer came yet).
 * - None, but the contact's card had an unexpired QR prekey, or the peer told us it speaks version 1
 *   (`dd.v` of its v0 messages): a new session, Init PDUs (keyed with the prekey, else with the peer's
 *   identity key).
 * - Otherwise version 0, forever for a contact whose client never said it speaks version 1.
 *
 * Sealing never waits for received batches: it seals from the committed state and commits the advanced
 * state before any PDU exists outside this file, taking turns with the receiver's commits (see
 * sessions/receiver.ts), so a crash never seals two messages with one (epoch, n).
 *
 * Resets (PROTOCOL-V1.md 1c "RESET", "Rollback detection"): when our session with a peer was found stale
 * (a restored copy of the sessions file), or the peer showed it lost its own (a version-0 message from a
 * peer holding a session with us) and the user agreed (`sessions/confirmReset`: that message proves
 * only their identity key), our next message starts a new session with the reset flag, at most once an
 * hour per peer. If the old session is still ours to write in, a RESET body in it names the new
 * session, so a peer that did not lose it takes the new one without asking its user.
 */
import type { Recipient } from '../../../shared/ipc/contract.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import type { DropMessage } from '../../../shared/protocol/message.js';
import type { PeerInfo, SessionStore } from '../state/sessionStore.js';
import { MessageType, bodyCapacity } from '../v1/body.js';
import { b64, unb64 } from '../v1/primitives.js';
import {
  type BodyInput,
  INIT_BODY_LENGTH,
  INIT_FLAG_QPK_STALE,
  INIT_FLAG_RESET,
  SESSION_BODY_LENGTH,
  type SessionState,
  initiate,
  pingBody,
  seal,
} from '../v1/session.js';
import { randomUUID } from 'node:crypto';
import { contactUpdateModule } from '../../../shared/modules/contactUpdate.js';
import { BOX_CONTACT_UPDATE } from '../../../shared/protocol/payloadTypes.js';
import { bodyOfDropMessage, introOverhead, receiptBody, withIntro } from './content.js';
import { type SentRef, type SessionReceiver, b64OfHex } from './receiver.js';
import { RESET_INTERVAL_MS, RETIRED_KEEP_MS, activationPatch, activeSession, dropRetired, sendableSessions } from './resets.js';
import { type DeviceTarget, activeAmong, deviceTargets, devicesKnown, ownDeviceBytes, ownSeveral, perDeviceWith, removedDevices, sessionsOfRemovedDevices, sessionsWithDevice } from './devices.js';

/** Whether engines send version 1 unless `EngineOptions.protocolV1` says otherwise. */
export const PROTOCOL_V1_DEFAULT = true;

const DAY_MS = 24 * 3600_000;
/** How many of our messages naming our drops at one epoch are remembered per peer (any one acknowledged is enough). */
const DROPS_SENT_KEPT = 32;

/** A `SentRef` as one string (`<session id>/<epoch>/<n>`; session ids are base64url), for records and lookups. */
export const sentRefKey = (ref: SentRef): string => `${ref.sessionId}/${ref.epoch}/${ref.n}`;

/** What `sealMessages` made of a send. */
export type SealOutcome =
  /** `pdus[m][c]`: copy c of message m (each copy its own E and tag); `refs[m]`: message m's (session, epoch, n). */
  | {
      kind: 'v1';
      /**
       * `devices` > 1 (per-device sessions): the messages sealed once per device of the peer, device
       * after device (`pdus[d * messages + m]`, `refs` alike); a message is delivered when any device
       * acknowledged it.
       */
      pdus: Uint8Array[][];
      refs: SentRef[];
      devices: number;
      /** Per-device sessions: the device of the peer each of `pdus` went to (null: the peer as one device). */
      pieceDevices?: (string | null)[];
    }
  /** No session and no way to start one (the contact never said it speaks version 1), or a body that does not fit. */
  | { kind: 'v0' }
  /**
   * 128 messages of this sending epoch went out without an answer (PROTOCOL-V1.md 1c flow control):
   * nothing was sealed. Keep the message waiting and try again when the peer's next message is
   * committed (`onSessionsCommitted`).
   */
  | { kind: 'windowFull' };

export interface SessionSenderOptions {
  sessions: SessionStore;
  receiver: SessionReceiver;
  now(): number;
  /** The identity's key pair (PINGs are sealed without a request that brings it). */
  keyPair(identityId: string): KeyPair;
  /**
   * Posts a PDU the engine made by itself (PINGs, RESET notes, answers to stale prekeys, re-sent Init
   * bodies) from `to.identityId` to the contact `to.contactKey`: only that pair's tickets are used.
   */
  post(dropUrls: readonly string[], pdu: Uint8Array, to: { identityId: string; contactKey: string }): Promise<void>;
  /** How long after a received message a PING waits for a reply of ours (default 30-120 s). */
  pingDelayMs?: { min: number; max: number } | undefined;
  /**
   * Whether the engine may PING at all (default yes). A PING's acknowledgement vector tells the peer
   * which of its messages arrived, like a delivery receipt, so with the `sendReceipts` setting off the
   * engine sends none: the peer learns what arrived only from a message the user sends (whose vector
   * covers it), its window stays open no longer than our silence allows, and its copies are re-posted.
   */
  pingsWanted?: (() => boolean) | undefined;
  /** See `SessionSender.onPeerAcked`. */
  onPeerAcked?: ((identityId: string, peerHex: string, refs: SentRef[]) => void) | undefined;
  /**
   * The hash of the peer's device list as we know it (devices/deviceNews.ts), for `devlist_hash` in
   * every header we seal to them; undefined: none known (zero).
   */
  devlistEcho?: ((identityId: string, peerHex: string) => string | undefined) | undefined;
  /** See `SessionSender.onSessionsCommitted`. */
  onSessionsCommitted?: ((identityId: string, peerHex: string) => void) | undefined;
}

/** PROTOCOL-V1.md 1c: a PING 30-120 s after a received non-PING message, when we sent nothing meanwhile. */
const PING_DELAY = { min: 30_000, max: 120_000 };

/** A body kept for re-sending (`PeerInfo.unanswered`), as JSON. */
interface StoredBody {
  type: number;
  content: string;
  msgId: string;
  tsMs: number;
  wantReceipt: boolean;
  finalPart: boolean;
}

export class SessionSender {
  private readonly pingTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;
  private readonly unlisten: () => void;
  private readonly ackListeners = new Set<(identityId: string, peerHex: string, refs: SentRef[]) => void>();
  private readonly commitListeners = new Set<(identityId: string, peerHex: string) => void>();

  constructor(private readonly options: SessionSenderOptions) {
    if (options.onPeerAcked) this.ackListeners.add(options.onPeerAcked);
    if (options.onSessionsCommitted) this.commitListeners.add(options.onSessionsCommitted);
    this.unlisten = options.receiver.listen({
      committed: (identityId, states) => {
        this.schedulePings(identityId, states);
        for (const peerHex of new Set(states.map((state) => unb64(state.theirId).toString('hex')))) {
          for (const listener of this.commitListeners) listener(identityId, peerHex);
        }
      },
      peerAcked: (identityId, peerHex, refs) => {
        void this.noteDropsAcked(identityId, peerHex, refs).catch(() => undefined);
        for (const listener of this.ackListeners) listener(identityId, peerHex, refs);
      },
      dropsWanted: (identityId, peerHex) => void this.askForDrops(identityId, peerHex).catch(() => undefined),
      dropsRequested: (identityId, peerHex) => void this.answerDropsRequest(identityId, peerHex).catch(() => undefined),
      staleQpk: (identityId, peerHex) => void this.answerStaleQpk(identityId, peerHex).catch(() => undefined),
      abandoned: (identityId, peerHex, sessionIds) => void this.resendAbandoned(identityId, peerHex, sessionIds).catch(() => undefined),
    });
  }

  /**
   * Hears our messages the peer's acknowledgement vector newly acknowledged, after the batch carrying it
   * is committed (never before: a crash before the commit reads that batch again). Returns how to stop.
   */
  onPeerAcked(listener: (identityId: string, peerHex: string, refs: SentRef[]) => void): () => void {
    this.ackListeners.add(listener);
    return () => void this.ackListeners.delete(listener);
  }

  /**
   * Hears that a received batch committed new state for sessions with a peer: a full window may have
   * room again (the peer's message carried a new ratchet key). Returns how to stop.
   */
  onSessionsCommitted(listener: (identityId: string, peerHex: string) => void): () => void {
    this.commitListeners.add(listener);
    return () => void this.commitListeners.delete(listener);
  }

  /** Remembers where the UI writes to a peer: the engine's PINGs go there. */
  async notePeerDrops(identityId: string, peerHex: string, dropUrls: readonly string[]): Promise<void> {
    await this.options.sessions.setPeer(identityId, peerHex, { dropUrls: [...dropUrls] });
  }

  /**
   * Sessions just committed after receiving: those that owe a PING get one after the random delay,
   * unless a message of ours goes out meanwhile (sealing clears `pingOwed`). A PING never makes one
   * due, so two engines never ping-pong.
   */
  schedulePings(identityId: string, states: readonly SessionState[]): void {
    for (const state of states) {
      const key = `${identityId} ${state.id}`;
      if (!state.pingOwed || this.pingTimers.has(key) || this.closed || this.options.pingsWanted?.() === false) continue;
      const { min, max } = this.options.pingDelayMs ?? PING_DELAY;
      const timer = setTimeout(() => {
        this.pingTimers.delete(key);
        void this.ping(identityId, state.id).catch(() => undefined);
      }, min + Math.random() * (max - min));
      timer.unref();
      this.pingTimers.set(key, timer);
    }
  }

  /** Stops pending PINGs (the engine closes or locks). */
  close(): void {
    this.closed = true;
    this.unlisten();
    for (const timer of this.pingTimers.values()) clearTimeout(timer);
    this.pingTimers.clear();
  }

  private async ping(identityId: string, sessionId: string): Promise<void> {
    const { sessions } = this.options;
    const state = sessions.get(identityId, sessionId);
    if (!state?.pingOwed || this.closed || this.options.pingsWanted?.() === false) return;
    const peerHex = unb64(state.theirId).toString('hex');
    // Only in the session we write in (with that device of theirs): never in one that waits for the
    // user or was replaced.
    const perDevice = perDeviceWith(sessions, identityId, peerHex);
    const active = perDevice
      ? activeAmong(sessionsWithDevice(sendableSessions(sessions, identityId, peerHex), state.theirDevice ?? null), sessions.peer(identityId, peerHex).active)
      : activeSession(sessions, identityId, peerHex);
    if (active?.id !== sessionId) return;
    const dropUrls = sessions.peer(identityId, peerHex).dropUrls;
    if (!dropUrls || dropUrls.length === 0) return; // the UI never wrote to them: nowhere we were told to write
    const sealed = await this.sealBodies(identityId, this.options.keyPair(identityId), { publicKey: peerHex }, () => [pingBody()], 1, false, false, sessionId);
    if (sealed.kind === 'v1' && sealed.pdus[0]?.[0]) await this.options.post(dropUrls, sealed.pdus[0][0], { identityId, contactKey: peerHex });
  }

  /**
   * The peer acknowledged messages of ours: if one of them named our drops at our current drops epoch
   * (`PeerInfo.dropsSent`), they know our drop list, and later messages stop naming it.
   */
  private async noteDropsAcked(identityId: string, peerHex: string, refs: readonly SentRef[]): Promise<void> {
    const { sessions } = this.options;
    const sent = sessions.peer(identityId, peerHex).dropsSent;
    if (!sent || !refs.some((ref) => sent.refs.includes(sentRefKey(ref)))) return;
    await sessions.setPeer(identityId, peerHex, { dropsAcked: sent.epoch, dropsSent: undefined });
  }

  /**
   * A message of the peer carried a newer drops epoch than the last list we had from them, and no list
   * (PROTOCOL-V1.md 2c step 3): we ask with DROPS_REQ in the session, at most once an hour, where the UI
   * last wrote to them (their old drops are read for 30 days after a move).
   */
  async askForDrops(identityId: string, peerHex: string): Promise<void> {
    const { sessions, now } = this.options;
    if (this.closed) return;
    const peer = sessions.peer(identityId, peerHex);
    const dropUrls = peer.dropUrls ?? [];
    if (dropUrls.length === 0 || (peer.dropsAskedAt !== undefined && now() - peer.dropsAskedAt < RESET_INTERVAL_MS)) return;
    const sealed = await this.sealBodies(identityId, this.options.keyPair(identityId), { publicKey: peerHex }, () => [{ type: MessageType.DROPS_REQ }], 1, false);
    if (sealed.kind !== 'v1' || !sealed.pdus[0]?.[0]) return;
    await sessions.setPeer(identityId, peerHex, { dropsAskedAt: now() });
    for (const pdu of firstCopies(sealed.pdus)) await this.options.post(dropUrls, pdu, { identityId, contactKey: peerHex });
  }

  /**
   * The peer asked for our drop list (DROPS_REQ): a contact update (shared/modules/contactUpdate.ts, the
   * alias and every drop, as the UI's "tell contacts" sends) goes to them in the session, at most once
   * an hour; and our next messages name our first drop again until they acknowledge one.
   */
  async answerDropsRequest(identityId: string, peerHex: string): Promise<void> {
    const { sessions, receiver, now } = this.options;
    if (this.closed) return;
    const peer = sessions.peer(identityId, peerHex);
    const dropUrls = peer.dropUrls ?? [];
    if (dropUrls.length === 0 || (peer.dropsAnsweredAt !== undefined && now() - peer.dropsAnsweredAt < RESET_INTERVAL_MS)) return;
    await sessions.setPeer(identityId, peerHex, { dropsAnsweredAt: now(), dropsAcked: undefined });
    const pair = this.options.keyPair(identityId);
    const own = receiver.ownDrops(identityId);
    const update = contactUpdateModule.build(
      { type: BOX_CONTACT_UPDATE },
      { sender: Buffer.from(pair.publicKey).toString('hex'), identity: own, wantReceipt: false, now: now(), newId: () => randomUUID() },
    )[0]!;
    const sealed = await this.sealBodies(
      identityId,
      pair,
      { publicKey: peerHex },
      (capacity) => {
        const body = bodyOfDropMessage(update, capacity);
        return body ? [body] : null;
      },
      1,
      false,
      true,
    );
    if (sealed.kind === 'v1') for (const pdu of firstCopies(sealed.pdus)) await this.options.post(dropUrls, pdu, { identityId, contactKey: peerHex });
  }

  /**
   * True when a message to this peer would go out in version 1 now. While our identity is on several
   * devices or theirs is (`dd.md`), only if their client keeps per-device sessions (`dd.pd`,
   * sessions/devices.ts); otherwise a Session PDU would open only on the device holding the ratchet,
   * and such conversations stay version 0 (the interim, electron/core/v1/README.md "Several devices").
   */
  /**
   * A copy for device `deviceId` of the peer (per-device sessions), sealed in session `ref` (a
   * `sentRefKey`), is re-posted no more: the peer's list has removed that device since (a removed device
   * gets nothing after its removal, not even old bytes). A record from before copies named their device
   * goes by the session's device, while we hold the session.
   */
  copyToRemovedDevice(identityId: string, peerHex: string, deviceId: string | null, ref: string): boolean {
    const { sessions } = this.options;
    const removed = removedDevices(sessions, identityId, peerHex);
    if (removed.size === 0) return false;
    if (deviceId !== null) return removed.has(deviceId);
    const sessionId = ref.slice(0, ref.indexOf('/'));
    const state = sessions.sessionsWith(identityId, b64OfHex(peerHex)).find((candidate) => candidate.id === sessionId);
    return state?.theirDevice !== undefined && removed.has(state.theirDevice);
  }

  speaksV1(identityId: string, recipient: Pick<Recipient, 'publicKey' | 'v1'>): boolean {
    const { sessions, now } = this.options;
    const peer = sessions.peer(identityId, recipient.publicKey);
    // Several devices on either side: version 1 only with a client keeping per-device sessions.
    if ((ownSeveral(sessions, identityId) || peer.multiDevice === true) && peer.perDevice !== true) return false;
    if (perDeviceWith(sessions, identityId, recipient.publicKey) && !devicesKnown(sessions, identityId, recipient.publicKey)) return false;
    if (sessions.sessionsWith(identityId, b64OfHex(recipient.publicKey)).length > 0) return true;
    return this.prekeyOf(recipient, now()) !== null || sessions.peer(identityId, recipient.publicKey).v1 === true;
  }

  /**
   * These drop messages in version 1, `copies` PDUs of each (1..4, default 1, capped by the session's
   * copies: 2), or why not. Never waits for a received batch.
   */
  async sealMessages(
    identityId: string,
    pair: KeyPair,
    recipient: Pick<Recipient, 'publicKey' | 'v1'>,
    messages: readonly DropMessage[],
    /** `toDevice`: only in the session with that device of the peer (per-device sessions), else version 0. */
    options: { copies?: number; toDevice?: string } = {},
  ): Promise<SealOutcome> {
    return this.sealBodies(
      identityId,
      pair,
      recipient,
      (capacity) => {
        const bodies = messages.map((m) => bodyOfDropMessage(m, capacity));
        return bodies.every((body): body is BodyInput => body !== null) ? bodies : null;
      },
      options.copies ?? 1,
      true,
      true,
      undefined,
      options.toDevice,
    );
  }

  /**
   * A RECEIPT for these acknowledge ids in version 1, or null (send a v0 box_ack): one PDU per device
   * of the peer we hold a session with (each of their devices learns its message arrived, also the
   * ones that did not send it: sibling sync told them of it).
   */
  async sealReceipt(identityId: string, pair: KeyPair, recipientKey: string, acknowledgeIds: readonly string[]): Promise<Uint8Array[] | null> {
    const { sessions, now } = this.options;
    // Receipts never start a session by themselves: only where one exists. `severalDevices` first: it
    // also tells the v0 encoder whether the box_ack we send instead carries `dd.md`.
    const several = sessions.severalDevices(identityId);
    if (!activeSession(sessions, identityId, recipientKey)) return null;
    if (several && !perDeviceWith(sessions, identityId, recipientKey)) return null;
    const sealed = await this.sealBodies(identityId, pair, { publicKey: recipientKey }, () => [receiptBody(acknowledgeIds, now())], 1, false);
    if (sealed.kind !== 'v1') return null;
    const pdus = firstCopies(sealed.pdus);
    return pdus.length > 0 ? pdus : null;
  }

  private prekeyOf(recipient: Pick<Recipient, 'v1'>, now: number): Uint8Array | null {
    const v1 = recipient.v1;
    if (!v1 || now >= (v1.qrPrekeyExpiresDay + 1) * DAY_MS) return null;
    return new Uint8Array(Buffer.from(v1.qrPrekey, 'hex'));
  }

  /** A reset is due with this peer (and allowed: one per hour). */
  private resetDue(identityId: string, peerHex: string, at: number): boolean {
    const { sessions } = this.options;
    const peer = sessions.peer(identityId, peerHex);
    // A reset the peer's v0 message asked for waits for the user's yes (sessions/confirmReset).
    const due = (peer.needsReset === true && peer.reset?.pending !== true) || sessions.staleWith(identityId, b64OfHex(peerHex)).length > 0;
    return due && !(peer.resetSentAt !== undefined && at - peer.resetSentAt < RESET_INTERVAL_MS);
  }

  private async sealBodies(
    identityId: string,
    pair: KeyPair,
    recipient: Pick<Recipient, 'publicKey' | 'v1'>,
    bodiesFor: (capacity: number) => BodyInput[] | null,
    copies: number,
    mayStart: boolean,
    /** The bodies are messages for the UI (not PINGs, receipts, requests): they may name our drops. */
    messages = mayStart,
    /** Only in this session (a PING owed in it). */
    only?: string,
    /** Only to this device of the peer (per-device sessions; none: version 0). */
    toDevice?: string,
  ): Promise<SealOutcome> {
    if (!this.speaksV1(identityId, recipient)) return { kind: 'v0' };
    const { sessions, receiver, now } = this.options;
    const peerHex = recipient.publicKey;
    // Our Init PDUs name this device from the first (a peer on several devices keeps them apart).
    if (!sessions.ownDevice(identityId)) await sessions.ensureOwnDevice(identityId).catch(() => undefined);
    return receiver.exclusive(async (): Promise<SealOutcome> => {
      const at = now();
      // Deleted or restored while this seal ran: nothing of it is committed (see SessionStore.generation).
      const generation = sessions.generation(identityId);
      receiver.removed(await dropRetired(sessions, identityId, peerHex, at));
      // A device their list removed gets nothing more: our sessions with it retire (openable for late
      // copies, never written in), also when the peer is back on one device.
      const gone = sessionsOfRemovedDevices(sessions, identityId, peerHex);
      if (gone.length > 0) {
        const retired = { ...(sessions.peer(identityId, peerHex).retired ?? {}) };
        for (const state of gone) retired[state.id] = at + RETIRED_KEEP_MS;
        await sessions.setPeer(identityId, peerHex, { retired }, generation);
      }
      // Our echo of their device list, read with the devices we seal to (in the same turn): every copy of
      // this message names the list it went to. Read per copy, a list merged while an earlier copy was
      // committed reached the later copies only: one device of theirs saw a list the message was not
      // sealed to, a sibling did not (and learnt of an injected device one message later).
      const echo = this.options.devlistEcho?.(identityId, peerHex);
      if (!perDeviceWith(sessions, identityId, peerHex)) {
        if (toDevice !== undefined) return { kind: 'v0' };
        return this.sealTarget(identityId, pair, recipient, bodiesFor, copies, mayStart, messages, null, at, generation, echo);
      }
      // Per-device sessions (PROTOCOL-V1.md 5c): one seal per device of the peer, each in the session
      // with that device (an Init to it where there is none).
      const onlyState = only === undefined ? undefined : sessions.get(identityId, only);
      const targets: DeviceTarget[] = onlyState
        ? [{ deviceId: onlyState.theirDevice ?? null, prekey: null, sessionId: onlyState.id }]
        : deviceTargets(sessions, identityId, peerHex).filter((target) => toDevice === undefined || target.deviceId === toDevice);
      if (targets.length === 0) return { kind: 'v0' };
      const pdus: Uint8Array[][] = [];
      const refs: SentRef[] = [];
      const pieceDevices: (string | null)[] = [];
      let full = 0;
      let devices = 0;
      for (const target of targets) {
        const sealed = await this.sealTarget(identityId, pair, recipient, bodiesFor, copies, mayStart, messages, target, at, generation, echo);
        if (sealed.kind === 'windowFull') {
          // That device has not answered 128 messages: it misses this one (its siblings get it).
          full++;
          continue;
        }
        if (sealed.kind === 'v0') {
          if (pdus.length === 0 && targets.length === 1) return sealed;
          continue; // cannot start a session with this device (no way to): the others still get it
        }
        pdus.push(...sealed.pdus);
        refs.push(...sealed.refs);
        pieceDevices.push(...sealed.pdus.map(() => target.deviceId));
        devices++;
      }
      if (pdus.length === 0) return full > 0 ? { kind: 'windowFull' } : { kind: 'v0' };
      return { kind: 'v1', pdus, refs, devices, pieceDevices };
    });
  }

  /**
   * Seals the bodies in the session with one device of the peer (`target`; null: the peer as one
   * device, as before per-device sessions), starting one where needed. Runs inside `exclusive`.
   */
  private async sealTarget(
    identityId: string,
    pair: KeyPair,
    recipient: Pick<Recipient, 'publicKey' | 'v1'>,
    bodiesFor: (capacity: number) => BodyInput[] | null,
    copies: number,
    mayStart: boolean,
    messages: boolean,
    target: DeviceTarget | null,
    at: number,
    generation: number,
    /** `devlist_hash` for every header sealed here (see sealBodies). */
    echo: string | undefined,
  ): Promise<SealOutcome> {
    const { sessions, receiver } = this.options;
    const peerHex = recipient.publicKey;
    {
      // Resets belong to the one session with the peer; per device, a lost session is started anew.
      const reset = target === null && this.resetDue(identityId, peerHex, at);
      const sendable = target === null ? [] : sessionsWithDevice(sendableSessions(sessions, identityId, peerHex), target.deviceId);
      const active =
        target === null
          ? activeSession(sessions, identityId, peerHex)
          : target.sessionId !== undefined
            ? sendable.find((state) => state.id === target.sessionId)
            : activeAmong(sendable, sessions.peer(identityId, peerHex).active);
      let state: SessionState;
      if (active && !reset) state = active;
      else if (!mayStart) return { kind: 'v0' };
      // A device known only by its session (a PING owed in it), which is gone: nothing to start.
      else if ((target?.deviceId && !target.prekey) || target?.sessionId !== undefined) return { kind: 'v0' };
      else {
        // To a device of their list: its device prekey, so only that device opens it; our device id
        // in the Init, so the peer keeps it apart from our siblings' sessions.
        const prekey = target?.prekey ?? this.prekeyOf(recipient, at);
        state = initiate(
          {
            ourIdentity: pair,
            theirIdentityPublic: Buffer.from(peerHex, 'hex'),
            theirQrPrekey: prekey ? { public: prekey } : undefined,
            flags: reset ? INIT_FLAG_RESET : 0,
            ...(target ? { deviceId: ownDeviceBytes(sessions, identityId), theirDevice: target.deviceId ?? undefined } : {}),
          },
          at,
        );
      }
      const isNew = state !== active;
      const initPdus = state.role === 'initiator' && !state.confirmed;
      // Init PDUs introduce their sender (alias, first drop) as a v0 first message's meta_data does: the
      // peer may know nothing of us yet (we wrote from their card) and must be able to answer. Session
      // PDUs do while the peer has not acknowledged a message naming our drops at our current drops
      // epoch (PROTOCOL-V1.md 2c step 3): after a move, a contact who missed the update learns the new
      // drop from the next message it receives, as from a v0 message's meta data.
      const dropsEpoch = receiver.ownDrops(identityId).epoch;
      const peerBefore = sessions.peer(identityId, peerHex);
      const carriesDrops = initPdus || (messages && peerBefore.dropsAcked !== dropsEpoch);
      const intro = carriesDrops ? receiver.introOf(identityId) : null;
      const capacity = bodyCapacity(initPdus ? INIT_BODY_LENGTH : SESSION_BODY_LENGTH);
      const bodies = bodiesFor(capacity - (intro ? introOverhead(intro) : 0));
      if (!bodies) return { kind: 'v0' };
      const k = Math.max(1, Math.min(Math.floor(copies), state.copies));
      const pdus: Uint8Array[][] = [];
      const refs: SentRef[] = [];
      const sentBodies: BodyInput[] = [];
      for (const body of bodies) {
        // Every message gets its msg_id here, so a copy sealed again (stale prekey) is the same message.
        const full: BodyInput = { ...body, msgId: body.msgId ?? new Uint8Array(randomId()) };
        const wrapped = intro ? withIntro(full, intro, capacity) : full;
        if (!wrapped) return { kind: 'v0' }; // cannot happen: the capacity left room for the intro
        const result = seal(state, wrapped, { copies: k, dropsEpoch, devlistHash: echo }, at);
        if ('error' in result) return { kind: 'windowFull' };
        state = result.state;
        pdus.push(result.pdus);
        refs.push({ sessionId: state.id, ...result.ref });
        sentBodies.push(full);
      }
      const states = [state];
      // A reset while the old session is still ours to write in: a RESET body there names the new one.
      let note: Uint8Array | null = null;
      if (reset && active && isNew) {
        const announced = seal(active, { type: MessageType.RESET, content: unb64(state.id) }, { dropsEpoch, devlistHash: echo }, at);
        if (!('error' in announced)) {
          states.push(announced.state);
          note = announced.pdu;
        }
      }
      const stale = reset ? sessions.staleWith(identityId, b64OfHex(peerHex)) : [];
      await sessions.commit(identityId, states, stale, generation);
      if (generation !== sessions.generation(identityId)) return { kind: 'v0' };
      for (const committed of states) receiver.sent(identityId, committed);
      const patch: PeerInfo = {};
      if (intro) {
        // Which of our messages named our drops at this epoch: an acknowledgement of any tells us they know.
        const before = peerBefore.dropsSent?.epoch === dropsEpoch ? peerBefore.dropsSent.refs : [];
        patch.dropsSent = { epoch: dropsEpoch, refs: [...before, ...refs.map(sentRefKey)].slice(-DROPS_SENT_KEPT) };
      }
      if (reset && isNew) Object.assign(patch, activationPatch(sessions, identityId, peerHex, state.id, at), { needsReset: undefined, resetSentAt: at, reset: { pending: false, at } });
      // Init PDUs keyed with a prekey may meet a prekey the peer lost: keep their bodies to send again.
      if (state.role === 'initiator' && !state.confirmed && state.init?.qpkId) patch.unanswered = this.keepUnanswered(identityId, peerHex, state.id, sentBodies);
      if (Object.keys(patch).length > 0) await sessions.setPeer(identityId, peerHex, patch, generation);
      if (reset && isNew) receiver.changed(identityId);
      const dropUrls = sessions.peer(identityId, peerHex).dropUrls ?? [];
      if (note && dropUrls.length > 0) void this.options.post(dropUrls, note, { identityId, contactKey: peerHex }).catch(() => undefined);
      return { kind: 'v1', pdus, refs, devices: 1 };
    }
  }

  private keepUnanswered(identityId: string, peerHex: string, sessionId: string, bodies: readonly BodyInput[]): PeerInfo['unanswered'] {
    const kept = (this.options.sessions.peer(identityId, peerHex).unanswered ?? []).filter((entry) => this.options.sessions.get(identityId, entry.sessionId)?.confirmed === false);
    const entry = kept.find((e) => e.sessionId === sessionId) ?? { sessionId, bodies: [] };
    const stored = bodies.map((body): string =>
      JSON.stringify({
        type: body.type,
        content: b64(body.content ?? new Uint8Array(0)),
        msgId: b64(body.msgId!),
        tsMs: body.tsMs ?? this.options.now(),
        wantReceipt: body.wantReceipt ?? false,
        finalPart: body.finalPart ?? false,
      } satisfies StoredBody),
    );
    // Bounded by the window: at most W bodies per unanswered session.
    const next = { sessionId, bodies: [...entry.bodies, ...stored].slice(-128) };
    return [...kept.filter((e) => e.sessionId !== sessionId), next];
  }

  /**
   * Someone's Init named a prekey we do not know (PROTOCOL-V1.md 1c "Stale QPK"): we cannot open it, so
   * we answer with a plain Init (no prekey) carrying `qpk_stale`, and they send their messages again in
   * that session. Only where the UI told us their drops (a contact), once an hour per peer: an
   * unauthenticated Init must not make us write to anyone anywhere at will.
   */
  async answerStaleQpk(identityId: string, peerHex: string): Promise<void> {
    const { sessions, receiver, now } = this.options;
    if (this.closed) return;
    await receiver.exclusive(async () => {
      const at = now();
      const peer = sessions.peer(identityId, peerHex);
      const dropUrls = peer.dropUrls ?? [];
      // Several devices: we never answer (sessions/receiver.ts skips such Inits, they may be a sibling's);
      // a peer on several devices without per-device sessions has none with us.
      if (ownSeveral(sessions, identityId) || (peer.multiDevice && !peer.perDevice)) return;
      if (dropUrls.length === 0 || (peer.staleAnsweredAt !== undefined && at - peer.staleAnsweredAt < RESET_INTERVAL_MS)) return;
      const state = initiate({ ourIdentity: this.options.keyPair(identityId), theirIdentityPublic: Buffer.from(peerHex, 'hex'), flags: INIT_FLAG_QPK_STALE }, at);
      const sealed = seal(state, pingBody(), { dropsEpoch: receiver.ownDrops(identityId).epoch }, at);
      if ('error' in sealed) return;
      await sessions.commit(identityId, [sealed.state]);
      receiver.sent(identityId, sealed.state);
      await sessions.setPeer(identityId, peerHex, { staleAnsweredAt: at, ...activationPatch(sessions, identityId, peerHex, sealed.state.id, at) });
      void this.options.post(dropUrls, sealed.pdu, { identityId, contactKey: peerHex }).catch(() => undefined);
    });
  }

  /** The peer answered our prekey Inits with `qpk_stale`: what we sealed in them goes again in the new session. */
  async resendAbandoned(identityId: string, peerHex: string, sessionIds: readonly string[]): Promise<void> {
    const { sessions, receiver, now } = this.options;
    if (this.closed) return;
    const { dropUrls, pdus } = await receiver.exclusive(async () => {
      const peer = sessions.peer(identityId, peerHex);
      // Several devices on either side: no sessions for now, so these bodies are not sent again (a gap
      // of the interim: Init PDUs sealed just before a link, answered with qpk_stale after it).
      if ((ownSeveral(sessions, identityId) || peer.multiDevice) && !peer.perDevice) return { dropUrls: [], pdus: [] };
      const entries = (peer.unanswered ?? []).filter((entry) => sessionIds.includes(entry.sessionId));
      const dropUrls = peer.dropUrls ?? [];
      let state = activeSession(sessions, identityId, peerHex);
      if (entries.length === 0 || !state || dropUrls.length === 0) return { dropUrls, pdus: [] };
      const at = now();
      const pdus: Uint8Array[] = [];
      for (const text of entries.flatMap((entry) => entry.bodies)) {
        const stored = JSON.parse(text) as StoredBody;
        const result = seal(state, { ...stored, content: unb64(stored.content), msgId: unb64(stored.msgId) }, { dropsEpoch: receiver.ownDrops(identityId).epoch, devlistHash: this.options.devlistEcho?.(identityId, peerHex) }, at);
        if ('error' in result) break;
        state = result.state;
        pdus.push(result.pdu);
      }
      await sessions.commit(identityId, [state]);
      receiver.sent(identityId, state);
      await sessions.setPeer(identityId, peerHex, { unanswered: (peer.unanswered ?? []).filter((entry) => !sessionIds.includes(entry.sessionId)) });
      return { dropUrls, pdus };
    });
    for (const pdu of pdus) await this.options.post(dropUrls, pdu, { identityId, contactKey: peerHex }).catch(() => undefined);
  }
}

/** The first copy of each sealed item (PDUs the engine posts itself go once, to the peer's drops). */
function firstCopies(pdus: readonly Uint8Array[][]): Uint8Array[] {
  return pdus.flatMap((copies) => (copies[0] ? [copies[0]] : []));
}

function randomId(): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}
