import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { olderNamesake } from './lookalikeNames.js';

/**
 * A lasting note on a contact whose name looks like an older contact's while the key differs
 * (lookalikeNames.ts `olderNamesake`): in the chat header and the contact's details, until the user
 * verifies this one or renames either.
 */
export function NameConflictNote({ contact }: { contact: ContactRecord }) {
  const contacts = useLiveQuery(
    () => (contact.status === 'accepted' ? database().contacts.where('identityId').equals(contact.identityId).toArray() : Promise.resolve([])),
    [contact.identityId, contact.status],
    [] as ContactRecord[],
  );
  const older = olderNamesake(contact, contacts);
  if (!older) return null;
  return (
    <p className="warning-text name-conflict" data-testid="name-conflict">
      Not the same person as your contact {older.alias}: different key. Rename one of them, or verify this one once you know who it is.
    </p>
  );
}
