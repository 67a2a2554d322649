/**
 * The sending side of version-1 sessions (PROTOCOL-V1.md 1c "Capability negotiation"): which protocol
 * a message to a contact goes out in, and its sealing.
 *
 * - A session with the peer exists: Session PDUs (Init PDUs while we initiated and no answer came yet).
 * - None, but the contact's card had an unexpired QR prekey, or the peer told us it speaks version 1
 *   (`dd.v` of its v0 messages): a new session, Init PDUs (keyed with the prekey, else with the peer's
 *   identity key).
 * - Otherwise version 0, forever for a contact whose client never said it speaks version 1.
 *
 * Sealing advances the session; the new state is durable (session store) before any PDU exists outside
 * this function, so a crash never seals two messages with one chain key. A message whose content does
 * not fit a v1 body, or a sending window that is full (128 messages without an answer), goes as v0.
 */
import type { Recipient } from '../../../shared/ipc/contract.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import type { DropMessage } from '../../../shared/protocol/message.js';
import type { SessionStore } from '../state/sessionStore.js';
import { bodyCapacity } from '../v1/body.js';
import { type BodyInput, INIT_BODY_LENGTH, SESSION_BODY_LENGTH, type SessionState, chooseActive, initiate, pingBody, seal } from '../v1/session.js';
import { bodyOfDropMessage, receiptBody } from './content.js';
import { type SessionReceiver, b64OfHex } from './receiver.js';

/** Whether engines send version 1 unless `EngineOptions.protocolV1` says otherwise. */
export const PROTOCOL_V1_DEFAULT = false;

const DAY_MS = 24 * 3600_000;
/**
 * How long a send waits for a batch holding the session to be acknowledged (the UI does so within
 * milliseconds of storing it) before it goes as v0; a receipt is worth less waiting.
 */
const HOLD_TIMEOUT_MS = 10_000;
const RECEIPT_HOLD_TIMEOUT_MS = 2_000;

export interface SessionSenderOptions {
  sessions: SessionStore;
  receiver: SessionReceiver;
  now(): number;
  /** The identity's key pair (PINGs are sealed without a request that brings it). */
  keyPair(identityId: string): KeyPair;
  /** Posts a PDU the engine made by itself (PINGs). */
  post(dropUrls: readonly string[], pdu: Uint8Array): Promise<void>;
  /** How long after a received message a PING waits for a reply of ours (default 30-120 s). */
  pingDelayMs?: { min: number; max: number } | undefined;
}

/** PROTOCOL-V1.md 1c: a PING 30-120 s after a received non-PING message, when we sent nothing meanwhile. */
const PING_DELAY = { min: 30_000, max: 120_000 };

export class SessionSender {
  private readonly pingTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: SessionSenderOptions) {}

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
      if (!state.pingOwed || this.pingTimers.has(key) || this.closed) continue;
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
    for (const timer of this.pingTimers.values()) clearTimeout(timer);
    this.pingTimers.clear();
  }

  private async ping(identityId: string, sessionId: string): Promise<void> {
    const { sessions } = this.options;
    const state = sessions.get(identityId, sessionId);
    if (!state?.pingOwed || this.closed) return;
    const peerHex = Buffer.from(state.theirId, 'base64url').toString('hex');
    const dropUrls = sessions.peer(identityId, peerHex).dropUrls;
    if (!dropUrls || dropUrls.length === 0) return; // the UI never wrote to them: nowhere we were told to write
    const pdus = await this.sealBodies(identityId, this.options.keyPair(identityId), { publicKey: peerHex }, () => [pingBody()], RECEIPT_HOLD_TIMEOUT_MS);
    if (pdus?.[0]) await this.options.post(dropUrls, pdus[0]);
  }

  /** True when a message to this peer would go out in version 1 now. */
  speaksV1(identityId: string, recipient: Pick<Recipient, 'publicKey' | 'v1'>): boolean {
    const { sessions, now } = this.options;
    if (sessions.sessionsWith(identityId, b64OfHex(recipient.publicKey)).length > 0) return true;
    return this.prekeyOf(recipient, now()) !== null || sessions.peer(identityId, recipient.publicKey).v1 === true;
  }

  /** The PDUs of these drop messages in version 1, or null: send them as version 0. */
  async sealMessages(identityId: string, pair: KeyPair, recipient: Pick<Recipient, 'publicKey' | 'v1'>, messages: readonly DropMessage[]): Promise<Uint8Array[] | null> {
    return this.sealBodies(identityId, pair, recipient, (capacity) => {
      const bodies = messages.map((m) => bodyOfDropMessage(m, capacity));
      return bodies.every((body): body is BodyInput => body !== null) ? bodies : null;
    });
  }

  /** A RECEIPT for these acknowledge ids in version 1, or null (send a v0 box_ack). */
  async sealReceipt(identityId: string, pair: KeyPair, recipientKey: string, acknowledgeIds: readonly string[]): Promise<Uint8Array | null> {
    const { sessions, now } = this.options;
    // Receipts never start a session by themselves: only where one exists.
    if (sessions.sessionsWith(identityId, b64OfHex(recipientKey)).length === 0) return null;
    const pdus = await this.sealBodies(identityId, pair, { publicKey: recipientKey }, () => [receiptBody(acknowledgeIds, now())], RECEIPT_HOLD_TIMEOUT_MS);
    return pdus?.[0] ?? null;
  }

  private prekeyOf(recipient: Pick<Recipient, 'v1'>, now: number): Uint8Array | null {
    const v1 = recipient.v1;
    if (!v1 || now >= (v1.qrPrekeyExpiresDay + 1) * DAY_MS) return null;
    return new Uint8Array(Buffer.from(v1.qrPrekey, 'hex'));
  }

  private async sealBodies(
    identityId: string,
    pair: KeyPair,
    recipient: Pick<Recipient, 'publicKey' | 'v1'>,
    bodiesFor: (capacity: number) => BodyInput[] | null,
    holdTimeoutMs = HOLD_TIMEOUT_MS,
  ): Promise<Uint8Array[] | null> {
    if (!this.speaksV1(identityId, recipient)) return null;
    const { sessions, receiver, now } = this.options;
    const theirId = b64OfHex(recipient.publicKey);
    const hold = await receiver.holdPeer(identityId, theirId, holdTimeoutMs);
    if (!hold) return null;
    try {
      const at = now();
      const prekey = this.prekeyOf(recipient, at);
      let state: SessionState =
        chooseActive(sessions.sessionsWith(identityId, theirId)) ??
        initiate({ ourIdentity: pair, theirIdentityPublic: Buffer.from(recipient.publicKey, 'hex'), theirQrPrekey: prekey ? { public: prekey } : undefined }, at);
      const initPdus = state.role === 'initiator' && !state.confirmed;
      const bodies = bodiesFor(bodyCapacity(initPdus ? INIT_BODY_LENGTH : SESSION_BODY_LENGTH));
      if (!bodies) return null;
      const pdus: Uint8Array[] = [];
      for (const body of bodies) {
        const result = seal(state, body, {}, at);
        if ('error' in result) return null;
        state = result.state;
        pdus.push(result.pdu);
      }
      await sessions.commit(identityId, [state]);
      receiver.sent(hold, identityId, state);
      return pdus;
    } finally {
      receiver.releaseHold(hold);
    }
  }
}
