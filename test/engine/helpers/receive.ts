/** Test helper: messages delivered to an engine, acknowledging each batch as the UI does once it stored it. */
import type { IncomingMessage, Recipient } from '../../../shared/ipc/contract.js';
import type { TestEngine } from './testEngine.js';
import { waitFor } from './waitFor.js';

/**
 * Resolves with the distinct messages delivered to `engine` once there are `count` (a batch comes
 * again until it is acknowledged). With `sender`, the receipts that sender asked for are answered at
 * its card's drop URLs, as for an accepted contact; without, no receipt is sent.
 */
export async function receiveAndAck(engine: TestEngine, count: number, what: string, sender?: Pick<Recipient, 'publicKey' | 'dropUrls'>): Promise<IncomingMessage[]> {
  const acked = new Set<string>();
  return waitFor(async () => {
    const batches = engine.of('inbox/batch');
    for (const batch of batches) {
      if (acked.has(batch.batchId)) continue;
      acked.add(batch.batchId);
      const receipts = sender
        ? batch.messages.filter((m) => m.senderKey === sender.publicKey).map((m) => ({ dedupeKey: m.dedupeKey, dropUrls: sender.dropUrls }))
        : [];
      await engine.call('inbox/ack', { batchId: batch.batchId, receipts });
    }
    const unique = new Map(batches.flatMap((b) => b.messages).map((m) => [m.dedupeKey, m]));
    return unique.size >= count ? [...unique.values()] : null;
  }, what);
}
