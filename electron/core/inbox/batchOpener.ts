/**
 * Turns the raw items of one drop fetch into our messages and receipts: trial-opens every PDU against
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

export interface OpenBatchInput {
  dropUrl: string;
  pdus: readonly Uint8Array[];
  identities: readonly LocalIdentity[];
  /** Keys already delivered and acknowledged: never surface again. */
  seen: ReadonlySet<string>;
  pool: CryptoPool;
  now: number;
}

export async function openBatch(input: OpenBatchInput): Promise<OpenedBatch> {
  const hits = await input.pool.trialOpen(
    input.identities.map((identity) => identity.pair),
    input.pdus,
  );
  const batch: OpenedBatch = { messages: [], receipts: [] };
  const inBatch = new Set<string>();
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
    const key = await dedupeKey(senderKey, decoded.message.acknowledge_id, input.pdus[i]!);
    if (input.seen.has(key) || inBatch.has(key)) continue;
    inBatch.add(key);
    const identityId = input.identities[hit.identityIndex]!.id;
    if (decoded.content.type === BOX_ACK) {
      batch.receipts.push({ receipt: { identityId, senderKey, acknowledgeId: decoded.message.acknowledge_id, receivedAt: input.now }, dedupeKey: key });
    } else {
      batch.messages.push(toIncoming(decoded, { key, identityId, senderKey, dropUrl: input.dropUrl, now: input.now }));
    }
  }
  return batch;
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
