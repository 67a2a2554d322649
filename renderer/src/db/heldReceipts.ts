import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from './database.js';

/** Receipts answered at once when a request is accepted: the newest, so a flood of requests stays small. */
const MAX_ANSWERED = 64;
/** How far back in the conversation held receipts are looked for. */
const MESSAGES_LOOKED_AT = 200;

/**
 * Once the user accepts a contact, answers the receipts their messages asked for while they were a
 * request (or ignored), at the drop URLs now accepted for them; older held ones are dropped unanswered.
 * Best effort: without an engine the receipts stay held for the next acceptance.
 */
export async function answerHeldReceipts(db: DeaddropDatabase, bridge: EngineBridge | null, identityId: string, contactKey: string): Promise<void> {
  const contact = await db.contacts.get([identityId, contactKey]);
  if (!bridge || !contact || (contact.status !== 'accepted' && contact.status !== 'verified') || contact.dropUrls.length === 0) return;
  const recent = await db.messages
    .where('[identityId+contactKey+sortAt]')
    .between([identityId, contactKey, -Infinity], [identityId, contactKey, Infinity])
    .reverse()
    .limit(MESSAGES_LOOKED_AT)
    .toArray();
  const holding = recent.filter((m) => m.direction === 'in' && (m.heldAckIds?.length ?? 0) > 0);
  const acknowledgeIds = holding.flatMap((m) => [...m.heldAckIds!].reverse()).slice(0, MAX_ANSWERED);
  if (acknowledgeIds.length === 0) return;
  const sent = await bridge.invoke('receipts/send', {
    identityId,
    recipient: { publicKey: contactKey, dropUrls: contact.dropUrls.slice(0, 16) },
    acknowledgeIds,
  });
  if (!sent.ok) return;
  await db.messages.bulkUpdate(holding.map((m) => ({ key: m.id, changes: { heldAckIds: [] } })));
}
