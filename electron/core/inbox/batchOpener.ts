/**
 * Turns the raw items of one drop poll into our messages and receipts: trial-opens every PDU against
 * all local identities (in the worker pool), then decodes and checks what opened. PDUs for others,
 * malformed or wrong-version messages and forgeries are skipped silently (PROTOCOL.md sections 3-4);
 * duplicates are dropped by their dedupe key.
 */
import type { IncomingMessage, MessageContent, Receipt } from '../../../shared/ipc/contract.js';
import type { KeyPair, TrialHit } from '../../../shared/protocol/boxTypes.js';
import { toHex } from '../../../shared/protocol/encoding.js';
import { NO_ACKNOWLEDGE_ID, dedupeKey } from '../../../shared/protocol/message.js';
import { BOX_ACK } from '../../../shared/protocol/payloadTypes.js';
import { type DecodedDropMessage, decodeDropMessage } from '../../../shared/modules/registry.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import type { CryptoPool, TrialOutcome } from '../crypto/cryptoPool.js';
import { type Claim, type SessionReceiver, type V1Opened } from '../sessions/receiver.js';
import { meaningOfBody } from '../sessions/content.js';
import { decodePayload } from '../../../shared/modules/registry.js';
import { BOX_SYNC } from '../../../shared/modules/sync.js';

export interface LocalIdentity {
  id: string;
  pair: KeyPair;
  /**
   * A key the identity replaced (devices/rotation.ts), read during its grace: its version-0 messages
   * are delivered as the identity's, but nothing from it counts as from ourselves (whoever stole it
   * can seal those) and Init PDUs to it start no session.
   */
  retired?: true;
}

export interface OpenedBatch {
  messages: IncomingMessage[];
  /**
   * Receipts with their dedupe keys (a Receipt itself carries none); a version-1 one with the session it
   * came in (each device of a contact answers in its own: the outbox tells their copies apart by it).
   */
  receipts: { receipt: Receipt; dedupeKey: string; sessionId?: string }[];
  /**
   * Messages sealed for us that were dropped unread (an envelope or payload that fails its schema, an
   * unsupported version, or a sender field other than the sealing key), each named by its PDU's
   * ephemeral key in hex so that one read again by a later poll is counted once.
   */
  malformed: string[];
  /**
   * Version-0 messages that asked for a receipt and were shown before (their dedupe key was
   * acknowledged): the sender re-posts because our receipt was lost; it is answered again
   * (outbox/receiptAgain.ts, at most once a day per message).
   */
  shownAgain: { identityId: string; senderKey: string; acknowledgeId: string }[];
}

export interface BatchCollectorInput {
  dropUrl: string;
  identities: readonly LocalIdentity[];
  /** Keys already delivered and acknowledged: never surface again. */
  seen: ReadonlySet<string>;
  pool: CryptoPool;
  now: number;
  /** PDUs trial-opened together: bounds what waits in memory while an answer streams in. */
  chunkSize: number;
  /**
   * Chunks being opened at once while reading goes on (download and trial decryption overlap); the
   * reader waits when this many are out. Memory stays below (chunksInFlight + 1) chunks plus what is ours.
   */
  chunksInFlight: number;
  /** Messages and receipts one batch may hold; ours beyond it are dropped (see `firstDropped`). */
  maxKept: number;
  /**
   * Version-1 sessions (sessions/receiver.ts): Session PDUs found by their tag are opened here and never
   * trial-decrypted; Init PDUs come from the pool's trial. Session changes go into `claim`.
   */
  v1?: { receiver: SessionReceiver; claim: Claim } | undefined;
}

/**
 * Collects one poll's PDUs as they stream in and trial-opens them in chunks while reading goes on,
 * so foreign PDUs are dropped as they come and memory stays bounded by a few chunks plus what is ours.
 * Chunks are opened in parallel (the pool spreads each over its workers) and taken in order.
 */
export class BatchCollector {
  private pending: Uint8Array[] = [];
  private readonly batch: OpenedBatch = { messages: [], receipts: [], malformed: [], shownAgain: [] };
  private readonly inBatch = new Set<string>();
  /** PDUs handed to `add` so far. */
  private count = 0;
  /**
   * A PDU was left unread because another unacknowledged batch holds its session: the drop must be
   * read again once that batch is acknowledged (no new message will announce it).
   */
  deferredForSession = false;
  private firstDroppedIndex = Infinity;
  /** Opened chunks taken into the batch in order; rejects when a chunk could not be opened. */
  private taken: Promise<void> = Promise.resolve();
  /**
   * Chunks whose results are not taken yet, oldest first (each rejects when its chunk could not be
   * opened). A chunk leaves the set before anyone waiting on it resumes.
   */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly input: BatchCollectorInput) {}

  /** The batch is at `maxKept` (as far as opened chunks tell): further PDUs are dropped unopened. */
  get full(): boolean {
    return this.batch.messages.length + this.batch.receipts.length >= this.input.maxKept;
  }

  /** PDUs handed to `add` so far: a page's PDUs end at the count after its last one. */
  get added(): number {
    return this.count;
  }

  /**
   * The position (in `add` order) of the first PDU that may have been ours and was dropped for the
   * batch being full; Infinity when none was. A page with PDUs at or after it must be read again.
   * Final only after `finish`.
   */
  get firstDropped(): number {
    return this.firstDroppedIndex;
  }

  /** Adds one PDU; returns a promise (to await before reading on) when too many chunks are being opened. */
  add(pdu: Uint8Array): Promise<void> | undefined {
    const index = this.count++;
    if (this.full) {
      this.firstDroppedIndex = Math.min(this.firstDroppedIndex, index);
      return undefined;
    }
    this.pending.push(pdu);
    if (this.pending.length < this.input.chunkSize) return undefined;
    this.dispatch();
    // Chunks are taken in order: the oldest is the next to leave.
    return this.inFlight.size >= this.input.chunksInFlight ? this.inFlight.values().next().value : undefined;
  }

  /** Opens what is left and resolves with the batch. @throws when a chunk could not be opened */
  async finish(): Promise<OpenedBatch> {
    this.dispatch();
    await this.taken;
    return this.batch;
  }

  private dispatch(): void {
    const pdus = this.pending;
    this.pending = [];
    if (pdus.length === 0) return;
    const firstIndex = this.count - pdus.length;
    // Our Session PDUs are known by their tag: one hash probe each, no trial decryption.
    const ids = this.identityIds;
    const tagged = this.input.v1 ? pdus.map((pdu) => this.input.v1!.receiver.isSessionPdu(pdu, ids)) : pdus.map(() => false);
    const untagged = pdus.filter((_, i) => !tagged[i]);
    const pairs = this.input.identities.map((identity) => identity.pair);
    // Without sessions, Init candidates are of no use: the plain trial.
    const trial: Promise<TrialOutcome> = this.input.v1
      ? this.input.pool.trialOpenWithInits(pairs, untagged)
      : this.input.pool.trialOpen(pairs, untagged).then((hits) => ({ hits, inits: hits.map(() => null) }));
    const opening: Promise<TrialOutcome> = trial.then((outcome) => {
      // Back in batch order: tagged PDUs get no trial result.
      const hits: TrialOutcome['hits'] = [];
      const inits: TrialOutcome['inits'] = [];
      let next = 0;
      for (let i = 0; i < pdus.length; i++) {
        hits.push(tagged[i] ? null : (outcome.hits[next] ?? null));
        inits.push(tagged[i] ? null : (outcome.inits[next] ?? null));
        if (!tagged[i]) next++;
      }
      return { hits, inits };
    });
    opening.catch(() => undefined); // taken below, in order: no unhandled rejection meanwhile
    const taken: Promise<void> = this.taken
      .then(async () => this.take(pdus, await opening, firstIndex))
      .finally(() => this.inFlight.delete(taken));
    taken.catch(() => undefined); // a reader or `finish` sees the failure; nothing is left unhandled
    this.taken = taken;
    this.inFlight.add(taken);
  }

  private get identityIds(): string[] {
    return this.input.identities.map((identity) => identity.id);
  }

  private async take(pdus: readonly Uint8Array[], outcome: TrialOutcome, firstIndex: number): Promise<void> {
    const { identities, seen, dropUrl, now } = this.input;
    const hits: readonly (TrialHit | null)[] = outcome.hits;
    for (let i = 0; i < hits.length; i++) {
      const hit = hits[i];
      if (!hit) {
        if (this.input.v1) await this.takeV1(pdus[i]!, outcome.inits[i] ?? null, firstIndex + i);
        continue;
      }
      if (this.full) {
        this.firstDroppedIndex = Math.min(this.firstDroppedIndex, firstIndex + i);
        continue;
      }
      let decoded: DecodedDropMessage;
      try {
        decoded = decodeDropMessage(hit.opened.payload, hit.opened.senderPublicKey);
      } catch (error) {
        // Malformed, unsupported version or forged: skipped, never shown (half parsed or otherwise).
        if (error instanceof ProtocolError) this.batch.malformed.push(toHex(pdus[i]!.subarray(1, 33)));
        continue;
      }
      const senderKey = toHex(hit.opened.senderPublicKey);
      // Sibling sync (devices/sync.ts) is ours only when the identity sealed it to itself: a box's
      // sender is authenticated, so nobody without the identity key passes. Anything else is dropped.
      const fromOurselves = senderKey === toHex(identities[hit.identityIndex]!.pair.publicKey) && identities[hit.identityIndex]!.retired !== true;
      if (decoded.content.type === BOX_SYNC && !fromOurselves) continue;
      if ((decoded.message.dd?.v ?? 0) >= 1 && this.input.v1 && !fromOurselves) {
        const { receiver, claim } = this.input.v1;
        const identityId = identities[hit.identityIndex]!.id;
        receiver.noteV1Peer(claim, identityId, senderKey);
        // Several devices on their side (or one again): before noteV0, which skips such a peer.
        receiver.noteDevices(claim, identityId, senderKey, decoded.message.dd?.md === 1, decoded.message.dd?.pd === 1);
        // A v1 peer we hold an answered session with writes v0 only when it lost that session.
        if (decoded.content.type !== BOX_ACK) receiver.noteV0(claim, identityId, senderKey);
      }
      // A receipt from ourselves (a sibling acknowledging a sync) echoes the sync's own receipt id,
      // which every device already saw as the sync's dedupe key: it needs a key of its own.
      const ownReceipt = fromOurselves && decoded.content.type === BOX_ACK;
      const key = ownReceipt ? `${senderKey}:ack:${decoded.message.acknowledge_id}` : await dedupeKey(senderKey, decoded.message.acknowledge_id, pdus[i]!);
      if (seen.has(key) && !fromOurselves && decoded.content.type !== BOX_ACK && decoded.message.acknowledge_id !== NO_ACKNOWLEDGE_ID) {
        this.batch.shownAgain.push({ identityId: identities[hit.identityIndex]!.id, senderKey, acknowledgeId: decoded.message.acknowledge_id });
      }
      if (seen.has(key) || this.inBatch.has(key)) continue;
      this.inBatch.add(key);
      const identityId = identities[hit.identityIndex]!.id;
      const { content } = decoded;
      if (content.type === BOX_ACK) {
        this.batch.receipts.push({ receipt: { identityId, senderKey, acknowledgeId: decoded.message.acknowledge_id, receivedAt: now }, dedupeKey: key });
      } else {
        this.batch.messages.push(toIncoming(decoded, content, { key, identityId, senderKey, dropUrl, now }));
      }
    }
  }

  /** A PDU no v0 box opened: a Session PDU of ours (by its tag) or an Init the pool recognised. */
  private async takeV1(pdu: Uint8Array, init: TrialOutcome['inits'][number], index: number): Promise<void> {
    const { receiver, claim } = this.input.v1!;
    const { identities, seen, dropUrl, now } = this.input;
    if (this.full) {
      // Possibly ours (a tag or Init hit): the page is read again once there is room.
      if (init || receiver.isSessionPdu(pdu, this.identityIds)) this.firstDroppedIndex = Math.min(this.firstDroppedIndex, index);
      return;
    }
    let opened: V1Opened;
    if (init) {
      const identity = identities[init.identityIndex]!;
      if (identity.retired) return;
      opened = receiver.openInitPdu(claim, identity.id, identity.pair, init.dh1, pdu);
    } else {
      // Checked here again, not only before the trial: an earlier chunk of this poll may have opened
      // the Init or the ratchet step that made this tag ours.
      opened = receiver.isSessionPdu(pdu, this.identityIds) ? receiver.openSessionPdu(claim, pdu, this.identityIds) : null;
    }
    if (!opened || opened.kind === 'duplicate') return;
    if (opened.kind === 'busy') {
      this.firstDroppedIndex = Math.min(this.firstDroppedIndex, index);
      this.deferredForSession = true;
      return;
    }
    receiver.noteV1Peer(claim, opened.identityId, opened.theirKey);
    const meaning = meaningOfBody(opened.body, opened.theirKey);
    const senderKey = opened.theirKey;
    if (meaning.kind === 'none') return;
    if (meaning.kind === 'malformed') {
      this.batch.malformed.push(toHex(pdu.subarray(1, 33)));
      return;
    }
    if (meaning.kind === 'receipts') {
      for (const acknowledgeId of meaning.acknowledgeIds) {
        // Per session: a second device's receipt for the same message is news (its own copy arrived).
        const key = `${senderKey}:v1ack:${opened.sessionId}:${acknowledgeId}`;
        if (seen.has(key) || this.inBatch.has(key)) continue;
        this.inBatch.add(key);
        this.batch.receipts.push({ receipt: { identityId: opened.identityId, senderKey, acknowledgeId, receivedAt: now }, dedupeKey: key, sessionId: opened.sessionId });
      }
      return;
    }
    const key = `${senderKey}:v1:${Buffer.from(opened.body.msgId).toString('hex')}`;
    if (seen.has(key) || this.inBatch.has(key)) return;
    let content: MessageContent;
    try {
      content = decodePayload(meaning.message.drop_payload_type, meaning.message.drop_payload) as MessageContent;
    } catch (error) {
      if (error instanceof ProtocolError) this.batch.malformed.push(toHex(pdu.subarray(1, 33)));
      return;
    }
    // Sibling sync goes from the identity to itself in version 0 only; in a session it is a contact's.
    if (content.type === BOX_SYNC) return;
    this.inBatch.add(key);
    // An Init PDU introduces its sender (a stranger writing from our card: the UI shows a named request
    // with an address to answer, as for a v0 first message); the session vouches for the key. A Session
    // PDU names the sender's first drop while they think we may not know their drop list (a move): taken
    // unless its drops epoch is older than the last list we had (sessions/receiver.ts `dropsSeen`).
    const meta = (init || opened.listFresh) && meaning.intro ? { ...meaning.intro, publicKey: senderKey } : null;
    this.batch.messages.push({
      ...toIncoming({ message: meaning.message, meta, content }, content, { key, identityId: opened.identityId, senderKey, dropUrl, now }),
      senderProtocol: 1,
      protocol: 1,
      ...(opened.devlistHash ? { devlistEcho: opened.devlistHash } : {}),
      ...(opened.unconfirmed ? { unconfirmedSession: true } : {}),
    });
  }
}

function toIncoming(
  decoded: DecodedDropMessage,
  content: MessageContent,
  at: { key: string; identityId: string; senderKey: string; dropUrl: string; now: number },
): IncomingMessage {
  const { message, meta } = decoded;
  const text = content.type === 'box_message' || content.type === 'box_share_notification' ? content.msg : null;
  return {
    dedupeKey: at.key,
    identityId: at.identityId,
    senderKey: at.senderKey,
    type: message.drop_payload_type,
    payload: message.drop_payload,
    text,
    content,
    share: content.type === 'box_share_notification' ? { file: content.file, url: content.url, size: content.size } : null,
    part: content.type === 'box_message' && content.part ? { groupId: content.part.group, index: content.part.index, count: content.part.count } : null,
    acknowledgeId: message.acknowledge_id,
    meta: meta ? { alias: meta.alias, dropUrl: meta.dropUrl, publicKey: meta.publicKey } : null,
    senderProtocol: message.dd?.v ?? 0,
    // Read by the engine (devices/deviceNews.ts): a contact's view of our device list.
    ...(message.dd?.dh ? { devlistEcho: message.dd.dh } : {}),
    protocol: 0,
    sentAt: message.time_stamp,
    receivedAt: at.now,
    dropUrl: at.dropUrl,
  };
}
