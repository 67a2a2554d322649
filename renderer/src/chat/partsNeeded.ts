import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { buildTextMessages } from '../../../shared/protocol/textMessages.js';

/**
 * How many drop messages a text will go out as (long texts are split, never truncated), counted
 * with the same splitter the engine uses and the largest introduction it may attach; null when the
 * text cannot be sent at all.
 */
export function partsNeeded(text: string, identity: IdentitySummary): number | null {
  try {
    return buildTextMessages({
      sender: identity.publicKey,
      text,
      meta: { alias: identity.alias, dropUrl: identity.dropUrls[0], publicKey: identity.publicKey },
      wantReceipt: true,
      now: Date.now(),
      newId: () => crypto.randomUUID(),
    }).length;
  } catch {
    return null;
  }
}
