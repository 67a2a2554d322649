/**
 * Turns the raw items of one drop poll into our messages and receipts: trial-opens every PDU against
 * all local identities (in the worker pool), then decodes and checks what opened. PDUs for others,
 * malformed or wrong-version messages and forgeries are skipped silently (PROTOCOL.md sections 3-4);
 * duplicates are dropped by their dedupe key.
 */
import type { IncomingMessage, Receipt } from '../../../shared/ipc/contract.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { toHex } from '../../../shared/protocol/encoding.js';
import { BOX_ACK, type DecodedDropMessage, decodeDropMessage, dedupeKey } from '../../../shared/protocol/message.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';

export interface LocalIdentity {
  id: string;
  pair: KeyPair;
}

export interface OpenedBatch {
  messages: IncomingMessage[];
  /** Receipts with their dedupe keys (a Receipt itself carries none). */
  receipts: { receipt: Receipt; dedupeKey: string }[];
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
  /** Messages and receipts one batch may hold; PDUs beyond it are not opened (see `dropped`). */
  maxKept: number;
}

/**
 * Collects one poll's PDUs as they stream in and trial-opens them in chunks, so foreign PDUs are
 * dropped as they come and memory stays bounded by one chunk plus what is ours.
 */
export class BatchCollector {
  private pending: Uint8Array[] = [];
  private readonly batch: OpenedBatch = { messages: [], receipts: [] };
  private readonly inBatch = new Set<string>();
  private droppedPdus = 0;

  constructor(private readonly input: BatchCollectorInput) {}

  /** The batch is at `maxKept`: further PDUs are dropped unopened. */
  get full(): boolean {
    return this.batch.messages.length + this.batch.receipts.length >= this.input.maxKept;
  }

  /** PDUs dropped because the batch was full: their page must be read again. */
  get dropped(): number {
    return this.droppedPdus;
  }

  /** Adds one PDU; returns a promise (to await before reading on) when a chunk is being opened. */
  add(pdu: Uint8Array): Promise<void> | undefined {
    if (this.full) {
      this.droppedPdus++;
      return undefined;
    }
    this.pending.push(pdu);
    return this.pending.length >= this.input.chunkSize ? this.flush() : undefined;
  }

  async finish(): Promise<OpenedBatch> {
    await this.flush();
    return this.batch;
  }

  private async flush(): Promise<void> {
    const pdus = this.pending;
    this.pending = [];
    if (pdus.length === 0) return;
    const { identities, seen, dropUrl, now } = this.input;
    const hits = await this.input.pool.trialOpen(
      identities.map((identity) => identity.pair),
      pdus,
    );
    for (let i = 0; i < hits.length; i++) {
      const hit = hits[i];
      if (!hit) continue;
      let decoded: DecodedDropMessage;
      try {
        decoded = decodeDropMessage(hit.opened.payload, hit.opened.senderPublicKey);
      } catch {
        continue; // malformed, unsupported version or forged: skipped, never shown
      }
      const senderKey = toHex(hit.opened.senderPublicKey);
      const key = await dedupeKey(senderKey, decoded.message.acknowledge_id, pdus[i]!);
      if (seen.has(key) || this.inBatch.has(key)) continue;
      this.inBatch.add(key);
      const identityId = identities[hit.identityIndex]!.id;
      if (decoded.content.type === BOX_ACK) {
        this.batch.receipts.push({ receipt: { identityId, senderKey, acknowledgeId: decoded.message.acknowledge_id, receivedAt: now }, dedupeKey: key });
      } else {
        this.batch.messages.push(toIncoming(decoded, { key, identityId, senderKey, dropUrl, now }));
      }
    }
  }
}

function toIncoming(
  decoded: DecodedDropMessage,
  at: { key: string; identityId: string; senderKey: string; dropUrl: string; now: number },
): IncomingMessage {
  const { message, content, meta } = decoded;
  const text = content.type === 'box_message' || content.type === 'box_share_notification' ? content.msg : null;
  return {
    dedupeKey: at.key,
    identityId: at.identityId,
    senderKey: at.senderKey,
    type: message.drop_payload_type,
    payload: message.drop_payload,
    text,
    share: content.type === 'box_share_notification' ? { file: content.file, url: content.url, size: content.size } : null,
    part: content.type === 'box_message' && content.part ? { groupId: content.part.group, index: content.part.index, count: content.part.count } : null,
    acknowledgeId: message.acknowledge_id,
    meta: meta ? { alias: meta.alias, dropUrl: meta.dropUrl, publicKey: meta.publicKey } : null,
    sentAt: message.time_stamp,
    receivedAt: at.now,
    dropUrl: at.dropUrl,
  };
}
