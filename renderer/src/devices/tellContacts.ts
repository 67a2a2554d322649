import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';

/**
 * After a link added a device to an identity: every accepted and verified contact is sent a contact
 * update at once (the same `box_contact_update` a rename sends). The engine now writes version 0 only,
 * with `dd.md` ("several devices: no sessions with me for now"), so each contact's app stops writing
 * in the session, whose messages only the device holding the ratchet could read, before the contact
 * writes again. Returns how many contacts were told and the last refusal, if any.
 */
export async function tellContactsOfDevices(db: DeaddropDatabase, bridge: EngineBridge, identity: IdentitySummary): Promise<{ told: number; error: string | null }> {
  const contacts = await db.contacts
    .where('[identityId+status]')
    .anyOf([
      [identity.id, 'accepted'],
      [identity.id, 'verified'],
    ])
    .toArray();
  let told = 0;
  let error: string | null = null;
  for (const contact of contacts) {
    if (contact.dropUrls.length === 0) continue;
    const result = await bridge.invoke('messages/send', {
      identityId: identity.id,
      localId: crypto.randomUUID(),
      recipient: { publicKey: contact.publicKey, dropUrls: contact.dropUrls },
      content: { type: 'box_contact_update' },
      wantReceipt: false,
    });
    if (result.ok) told++;
    else error = result.error.message;
  }
  return { told, error };
}
