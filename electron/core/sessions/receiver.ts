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
 * Two batches touching one session (two drops, or a poll while the previous batch waits for its
 * acknowledgement) are serialised: a PDU of a session another unacknowledged batch holds is not opened
 * now but left for a later poll (the collector treats it as not read, so its drop's cursor stays before
 * it). Overlaying the second batch on the first would make the second's commit carry the first's
 * changes, and a crash between the two acknowledgements would then lose the first batch's messages.
 */
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { type Logger, createLogger } from '../../../shared/log.js';
import type { SessionStore } from '../state/sessionStore.js';
import type { StateStore } from '../state/stateStore.js';
import type { Body } from '../v1/body.js';
import { b64, unb64 } from '../v1/primitives.js';
import { OFF_H, OFF_T, type SessionState, openInitWithDh, openSession } from '../v1/session.js';
import { TagTable } from '../v1/tagTable.js';

/** One batch being opened (a collector), then emitted; its claims are committed or forgotten together. */
export class Claim {
  readonly states = new Map<string, { identityId: string; state: SessionState }>();
  /** `<identity id> <peer hex>` of senders who showed they speak version 1 (noted when committed). */
  readonly v1Peers = new Set<string>();
  /** Sessions a sender holds while it seals (no batch opens them meanwhile). */
  readonly held: string[] = [];
}

export type V1Opened =
  | { kind: 'opened'; identityId: string; theirKey: string; body: Body; sessionId: string; acked: { epoch: number; n: number }[] }
  /** Held by another unacknowledged batch: read it again later. */
  | { kind: 'busy' }
  | { kind: 'duplicate' }
  | null;

export interface ReceiverOptions {
  stateStore: StateStore;
  sessions: SessionStore;
  now(): number;
  /** Told when sessions changed for good after receiving (the sender schedules PINGs). */
  onCommitted?: ((identityId: string, states: readonly SessionState[]) => void) | undefined;
  logger?: Logger;
}

export const hexOfB64 = (text: string): string => unb64(text).toString('hex');
export const b64OfHex = (hex: string): string => b64(Buffer.from(hex, 'hex'));

export class SessionReceiver {
  private table: TagTable | null = null;
  /** Session id → its identity, for the sessions in the table. */
  private readonly owner = new Map<string, string>();
  /** Session id → the unacknowledged batch holding it. */
  private readonly holders = new Map<string, Claim>();
  private readonly batches = new Map<string, Claim>();
  private readonly log: Logger;

  /** Sets who hears of committed sessions (the sender exists after the receiver). */
  onCommitted(listener: ReceiverOptions['onCommitted']): void {
    this.options.onCommitted = listener;
  }

  constructor(private readonly options: ReceiverOptions) {
    this.log = options.logger ?? createLogger('sessions');
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
    // Senders sealing right now keep their holds until they finish; batches' claims are gone.
    for (const [id, holder] of this.holders) if (!this.senderHolds.has(holder)) this.holders.delete(id);
    this.batches.clear();
    this.options.sessions.lock();
  }

  /** True when this PDU's tag (bytes 33..49) names a session of one of these identities. */
  isSessionPdu(pdu: Uint8Array, identityIds: readonly string[]): boolean {
    if (this.options.stateStore.locked) return false;
    return this.tags(identityIds).lookup(pdu.subarray(OFF_T, OFF_H)) !== undefined;
  }

  private current(claim: Claim, identityId: string, sessionId: string): SessionState | undefined | 'busy' {
    const holder = this.holders.get(sessionId);
    if (holder && holder !== claim) return 'busy';
    return claim.states.get(sessionId)?.state ?? this.options.sessions.get(identityId, sessionId);
  }

  private hold(claim: Claim, identityId: string, state: SessionState): void {
    claim.states.set(state.id, { identityId, state });
    this.holders.set(state.id, claim);
    this.owner.set(state.id, identityId);
    this.table?.setSession(state);
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
    const result = openSession(state, pdu, this.options.now());
    if (!result) return null;
    if ('duplicate' in result) return { kind: 'duplicate' };
    this.hold(claim, identityId, result.state);
    return { kind: 'opened', identityId, theirKey: hexOfB64(result.state.theirId), body: result.body, sessionId: result.state.id, acked: result.acked };
  }

  /** Opens a PDU the crypto pool took for an Init to `identity` (dh1 from its trial). */
  openInitPdu(claim: Claim, identityId: string, pair: KeyPair, dh1: Uint8Array, pdu: Uint8Array): V1Opened {
    let busy = false;
    const result = openInitWithDh(
      dh1,
      {
        ourIdentity: pair,
        qrPrekeys: this.options.stateStore
          .qrPrekeyPairs(identityId, this.options.now())
          .map((prekey) => ({ public: b64(prekey.publicKey), private: b64(prekey.privateKey), id: '' })),
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
      this.options.now(),
    );
    if (busy) return { kind: 'busy' };
    if (!result) return null;
    if ('duplicate' in result) return { kind: 'duplicate' };
    this.hold(claim, identityId, result.state);
    return { kind: 'opened', identityId, theirKey: hexOfB64(result.state.theirId), body: result.body, sessionId: result.state.id, acked: [] };
  }

  /** The claim's batch was emitted as `batchId`: its states wait for that acknowledgement. */
  bind(claim: Claim, batchId: string): void {
    if (claim.states.size > 0 || claim.v1Peers.size > 0) this.batches.set(batchId, claim);
  }

  /**
   * Holds every session of an identity with a peer for a sender, once no unacknowledged batch holds any
   * of them (so a seal never races a receive on one state). Null when they stay busy past `timeoutMs`.
   */
  async holdPeer(identityId: string, theirId: string, timeoutMs: number): Promise<Claim | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ids = this.options.sessions.sessionsWith(identityId, theirId).map((state) => state.id);
      if (ids.every((id) => !this.holders.has(id))) {
        const claim = new Claim();
        for (const id of ids) this.holders.set(id, claim);
        claim.held.push(...ids);
        this.senderHolds.add(claim);
        return claim;
      }
      if (Date.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** A sender committed `state` under its hold (the table learns its tags; a new session is held too). */
  sent(hold: Claim, identityId: string, state: SessionState): void {
    if (!hold.held.includes(state.id)) {
      hold.held.push(state.id);
      this.holders.set(state.id, hold);
    }
    this.owner.set(state.id, identityId);
    this.table?.setSession(state);
  }

  releaseHold(hold: Claim): void {
    for (const id of hold.held) if (this.holders.get(id) === hold) this.holders.delete(id);
    this.senderHolds.delete(hold);
    this.wake();
  }

  private readonly senderHolds = new Set<Claim>();
  private waiters: (() => void)[] = [];

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** The batch was acknowledged: its session states become durable (before the caller moves the cursor). */
  async commitBatch(batchId: string): Promise<void> {
    const claim = this.batches.get(batchId);
    if (!claim) return;
    this.batches.delete(batchId);
    await this.commit(claim);
  }

  /** Commits a claim whose batch had nothing for the UI (PINGs, duplicates only). */
  async commit(claim: Claim): Promise<void> {
    const byIdentity = new Map<string, SessionState[]>();
    for (const { identityId, state } of claim.states.values()) byIdentity.set(identityId, [...(byIdentity.get(identityId) ?? []), state]);
    try {
      for (const [identityId, states] of byIdentity) {
        await this.options.sessions.commit(identityId, states);
        this.options.onCommitted?.(identityId, states);
      }
      for (const key of claim.v1Peers) {
        const [identityId, peer] = key.split(' ') as [string, string];
        await this.options.sessions.setPeer(identityId, peer, { v1: true });
      }
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

  /** Forgets a claim; `revert` puts the committed states back in the table. */
  release(claim: Claim, revert: boolean): void {
    for (const id of claim.states.keys()) if (this.holders.get(id) === claim) this.holders.delete(id);
    if (revert && claim.states.size > 0) {
      this.log.debug('uncommitted session changes forgotten', { sessions: claim.states.size });
      this.table = null;
    }
    claim.states.clear();
    claim.v1Peers.clear();
    this.wake();
  }
}
