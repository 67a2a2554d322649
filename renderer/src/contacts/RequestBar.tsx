import { useState } from 'react';
import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { MAX_REQUEST_MESSAGES } from '../db/senderBounds.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useSession } from '../stores/sessionStore.js';
import { type KnownName, lookalikeOf } from './lookalikeNames.js';
import { acceptContact, setContactStatus } from './contactActions.js';
import { blockContact } from './revokeTickets.js';

/** A stranger wrote: the user decides before any reply (or receipt of reading) is possible. */
export function RequestBar({ contact }: { contact: ContactRecord }) {
  const db = database();
  const bridge = useSession((s) => s.bridge);
  const identities = useSession((s) => s.identities) ?? [];
  const [confirmingBlock, setConfirmingBlock] = useState(false);
  const offered = contact.offeredDropUrls ?? [];
  const unstored = contact.unstoredMessages ?? 0;
  const trusted = useLiveQuery(
    () => db.contacts.where('identityId').equals(contact.identityId).filter((c) => c.status === 'accepted' || c.status === 'verified').toArray(),
    [contact.identityId],
    [] as ContactRecord[],
  );
  const known: KnownName[] = [
    ...trusted.map((c) => ({ name: c.alias, publicKey: c.publicKey, kind: 'contact' as const })),
    ...identities.map((i) => ({ name: i.alias, publicKey: i.publicKey, kind: 'identity' as const })),
  ];
  const lookalike = lookalikeOf(contact.alias, contact.publicKey, known);
  return (
    <div className="request-bar" role="region" aria-label="Contact request">
      {lookalike && (
        <p className="warning-text" role="alert" data-testid="lookalike-warning">
          {lookalike.kind === 'contact'
            ? `Not the ${lookalike.name} in your contacts: this is a different key. Someone may be pretending to be them.`
            : `Not you: ${lookalike.name} is the name of one of your identities, but this is a different key.`}
        </p>
      )}
      <p>
        <strong>{contact.alias}</strong> is not in your contacts. Accept to reply, ignore to hide the request, or block
        to drop everything they send.
      </p>
      {unstored > 0 && (
        <p className="hint" data-testid="request-unstored">
          And {unstored.toLocaleString()} more {unstored === 1 ? 'message' : 'messages'} from them, not kept: a request keeps at
          most {MAX_REQUEST_MESSAGES} messages and one unfinished long text until you accept it.
        </p>
      )}
      {offered.length > 0 && (
        <p className="hint">
          They say their drop is at <span className="mono">{offered.join(', ')}</span>. Nothing is sent there, not
          even a delivery receipt, unless you accept.
        </p>
      )}
      <div className="button-row">
        <button type="button" className="primary" onClick={() => void acceptContact(db, bridge, contact)}>
          Accept
        </button>
        <button type="button" onClick={() => void setContactStatus(db, contact, 'ignored')}>
          Ignore
        </button>
        <button type="button" className="danger" onClick={() => setConfirmingBlock(true)} aria-expanded={confirmingBlock}>
          Block
        </button>
      </div>
      {confirmingBlock && (
        <div className="confirm" role="group" aria-label="Confirm blocking">
          <p>Block {contact.alias}? Everything they send is dropped unread, and they get no receipts. You can unblock them later.</p>
          <div className="button-row">
            <button type="button" className="danger" onClick={() => void blockContact(db, bridge, contact)}>
              Block {contact.alias}
            </button>
            <button type="button" onClick={() => setConfirmingBlock(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
