import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { answerHeldReceipts } from '../db/heldReceipts.js';
import type { ContactRecord, ContactStatus } from '../db/records.js';
import { syncContact } from '../devices/syncOut.js';

/** A contact parsed from a string, a `.qco` file or a QR code, before it is stored. */
export interface ContactDraft {
  alias: string;
  publicKey: string;
  dropUrls: string[];
  /** The card's version-1 part (`DEADDROP1`, or a `.qco` with `deaddrop`), when it had one. */
  v1?: { qrPrekey: string; qrPrekeyExpiresDay: number; caps: number } | undefined;
}

export type AddContactOutcome = 'added' | 'updated' | 'own-key';

/**
 * Stores a contact for an identity. Adding someone who already wrote to us (a request) accepts
 * them and takes the drop URLs from the card, which the user obtained out of band.
 */
export async function addContact(
  db: DeaddropDatabase,
  identityId: string,
  ownPublicKey: string,
  draft: ContactDraft,
  now = Date.now(),
): Promise<AddContactOutcome> {
  if (draft.publicKey === ownPublicKey) return 'own-key';
  const key: [string, string] = [identityId, draft.publicKey];
  const outcome = await db.transaction('rw', db.contacts, async (): Promise<AddContactOutcome> => {
    const existing = await db.contacts.get(key);
    const alias = draft.alias.trim() || existing?.alias || 'Contact';
    if (existing) {
      await db.contacts.update(key, {
        alias,
        aliasLower: alias.toLowerCase(),
        // The card is the contact's own word on their name, as an update would be.
        announcedAlias: alias,
        aliasFromUser: false,
        dropUrls: draft.dropUrls,
        status: existing.status === 'verified' ? 'verified' : 'accepted',
        // A newer card's prekey replaces the old one; a card without one (QABELCONTACT) keeps what we had.
        ...(draft.v1 ? { v1: { ...draft.v1 } } : {}),
      });
      return 'updated';
    }
    await db.contacts.add({
      identityId,
      publicKey: draft.publicKey,
      alias,
      aliasLower: alias.toLowerCase(),
      announcedAlias: alias,
      dropUrls: draft.dropUrls,
      offeredDropUrls: [],
      status: 'accepted',
      createdAt: now,
      ...(draft.v1 ? { v1: { ...draft.v1 } } : {}),
    });
    return 'added';
  });
  void syncContact(db, identityId, draft.publicKey);
  return outcome;
}

/**
 * Changes how the user treats a contact. Accepting someone known only from their hello takes the drop
 * URL that hello offered: from now on the user agreed to write there (and to send receipts there).
 */
export async function setContactStatus(db: DeaddropDatabase, contact: ContactRecord, status: ContactStatus): Promise<void> {
  const key: [string, string] = [contact.identityId, contact.publicKey];
  await db.transaction('rw', db.contacts, db.textParts, async () => {
    const current = await db.contacts.get(key);
    if (!current) return;
    const accepting = (status === 'accepted' || status === 'verified') && current.dropUrls.length === 0;
    await db.contacts.update(key, accepting ? { status, dropUrls: current.offeredDropUrls ?? [] } : { status });
    // Nothing more of a blocked sender is stored, so their unfinished long texts never finish.
    if (status === 'blocked') await db.textParts.where('[identityId+contactKey]').equals(key).delete();
  });
  void syncContact(db, contact.identityId, contact.publicKey);
}

/** Accepts a request (or an ignored or blocked sender) and answers the receipts their messages asked for. */
export async function acceptContact(db: DeaddropDatabase, bridge: EngineBridge | null, contact: ContactRecord): Promise<void> {
  await setContactStatus(db, contact, 'accepted');
  await answerHeldReceipts(db, bridge, contact.identityId, contact.publicKey);
}

/** The user names a contact: a name the contact announces later no longer replaces it. */
export async function renameContact(db: DeaddropDatabase, contact: ContactRecord, alias: string): Promise<void> {
  const clean = alias.trim().slice(0, 64);
  if (clean === '') return;
  await db.contacts.update([contact.identityId, contact.publicKey], { alias: clean, aliasLower: clean.toLowerCase(), aliasFromUser: true });
  void syncContact(db, contact.identityId, contact.publicKey);
}

/** Removes the contact with its conversation, messages and posts (and tells the other devices). */
export async function deleteContact(db: DeaddropDatabase, contact: ContactRecord): Promise<void> {
  await removeContactRows(db, [contact.identityId, contact.publicKey]);
  void syncContact(db, contact.identityId, contact.publicKey);
}

/** Removes a contact with its conversation, messages and posts (a deletion here or on another device). */
export async function removeContactRows(db: DeaddropDatabase, key: [string, string]): Promise<void> {
  await db.transaction('rw', [db.contacts, db.conversations, db.messages, db.textParts, db.posts], async () => {
    await db.textParts.where('[identityId+contactKey]').equals(key).delete();
    await db.posts
      .where('[identityId+authorKey+sortAt]')
      .between([...key, -Infinity], [...key, Infinity])
      .delete();
    await db.messages
      .where('[identityId+contactKey+sortAt]')
      .between([...key, -Infinity], [...key, Infinity])
      .delete();
    await db.conversations.delete(key);
    await db.contacts.delete(key);
  });
}
