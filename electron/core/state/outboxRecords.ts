/**
 * The outbox's part of the engine's state (outbox/sender.ts): outbox records, bounded to the
 * MAX_FINISHED_OUTBOX newest finished ones (those still holding sealed pieces are bounded by the
 * outbox), the posting health of drop servers, and the queue of receipts owed. These change the state
 * they are given; the state store (stateStore.ts) checks it is unlocked and saves.
 */
import {
  type EngineState,
  type OutboxRecord,
  type QueuedReceipt,
  type ServerHealth,
  holdsPdus,
  retainedBytes,
  withOutboxDefaults,
} from './stateSchema.js';

/** Finished outbox records kept for idempotency. */
const MAX_FINISHED_OUTBOX = 5000;
/** Drop servers whose posting health is remembered. */
const MAX_SERVER_HEALTH = 256;
/** Receipts waiting to be posted; beyond this the oldest are given up. */
const MAX_QUEUED_RECEIPTS = 2000;

type ReceiptKey = Pick<QueuedReceipt, 'identityId' | 'recipientKey' | 'acknowledgeId'>;

/** Puts a record, and forgets the oldest finished ones beyond the bound; true when it is new. */
export function putRecord(outbox: EngineState['outbox'], localId: string, record: OutboxRecord): boolean {
  const isNew = !(localId in outbox);
  delete outbox[localId]; // re-insert last: insertion order is age order for pruning
  outbox[localId] = structuredClone(withOutboxDefaults(record));
  // A record keeping sealed pieces to re-post is not finished; the outbox bounds those itself.
  const finished = Object.keys(outbox).filter((id) => !holdsPdus(outbox[id]!));
  for (const id of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_OUTBOX))) delete outbox[id];
  return isNew;
}

/** The records still holding sealed pieces, oldest change first, with their bytes and whether they are kept for re-posting. */
export function recordsHolding(outbox: EngineState['outbox']): { localId: string; bytes: number; reposting: boolean }[] {
  return Object.keys(outbox)
    .filter((id) => holdsPdus(outbox[id]!))
    .map((localId) => ({ localId, bytes: retainedBytes(outbox[localId]!), reposting: outbox[localId]!.nextRepostAt !== null }));
}

/** The local id of the record from `identityId` to `recipientKey` carrying `acknowledgeId` (or that session reference). */
export function recordIdOf(outbox: EngineState['outbox'], identityId: string, recipientKey: string, acknowledgeId: string): string | null {
  for (const [id, record] of Object.entries(outbox)) {
    if (record.identityId !== identityId || record.recipientKey !== recipientKey) continue;
    if (record.acknowledgeIds.includes(acknowledgeId) || record.refs.includes(acknowledgeId)) return id;
  }
  return null;
}

/** Records a server's posting health; the least recently changed beyond MAX_SERVER_HEALTH are forgotten. */
export function putServerHealth(all: EngineState['serverHealth'], origin: string, health: ServerHealth): void {
  delete all[origin]; // re-insert last: insertion order is change order for pruning
  all[origin] = { ...health };
  const origins = Object.keys(all);
  for (const old of origins.slice(0, Math.max(0, origins.length - MAX_SERVER_HEALTH))) delete all[old];
}

/** The queue with `receipt` added (the oldest beyond the bound given up), or null when it is queued already. */
export function withReceipt(receipts: readonly QueuedReceipt[], receipt: QueuedReceipt): QueuedReceipt[] | null {
  if (receipts.some((queued) => sameReceipt(queued, receipt))) return null;
  return [...receipts, structuredClone(receipt)].slice(-MAX_QUEUED_RECEIPTS);
}

/** The queue without `receipt`, or null when it was not queued. */
export function withoutReceipt(receipts: readonly QueuedReceipt[], receipt: ReceiptKey): QueuedReceipt[] | null {
  const kept = receipts.filter((queued) => !sameReceipt(queued, receipt));
  return kept.length === receipts.length ? null : kept;
}

function sameReceipt(a: ReceiptKey, b: ReceiptKey): boolean {
  return a.identityId === b.identityId && a.recipientKey === b.recipientKey && a.acknowledgeId === b.acknowledgeId;
}
