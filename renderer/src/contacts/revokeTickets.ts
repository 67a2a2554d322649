import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { deleteContact, setContactStatus } from './contactActions.js';

/**
 * Asks the engine to revoke the tickets the identity handed this contact for its closed drops (the
 * drop servers then refuse them): a blocked or deleted contact keeps no way into the user's drops but
 * a stranger's (proof of work, within the daily introductions). Best effort: the engine keeps a
 * revocation it could not send and sends it again later; nothing here waits for a server.
 */
export function revokeTickets(bridge: EngineBridge | null, contact: Pick<ContactRecord, 'identityId' | 'publicKey'>): void {
  void bridge?.invoke('contacts/revokeTickets', { identityId: contact.identityId, contactPublicKey: contact.publicKey }).catch(() => undefined);
}

/** Blocks a contact and revokes the tickets it holds for the user's drops. */
export async function blockContact(db: DeaddropDatabase, bridge: EngineBridge | null, contact: ContactRecord): Promise<void> {
  await setContactStatus(db, contact, 'blocked');
  revokeTickets(bridge, contact);
}

/** Deletes a contact with its conversation and revokes the tickets it holds for the user's drops. */
export async function removeContact(db: DeaddropDatabase, bridge: EngineBridge | null, contact: ContactRecord): Promise<void> {
  await deleteContact(db, contact);
  revokeTickets(bridge, contact);
}
