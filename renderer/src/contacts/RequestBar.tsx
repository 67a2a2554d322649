import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { setContactStatus } from './contactActions.js';

/** A stranger wrote: the user decides before any reply (or receipt of reading) is possible. */
export function RequestBar({ contact }: { contact: ContactRecord }) {
  const db = database();
  return (
    <div className="request-bar" role="region" aria-label="Contact request">
      <p>
        <strong>{contact.alias}</strong> is not in your contacts. Accept to reply, ignore to hide the request, or block
        to drop everything they send.
      </p>
      <div className="button-row">
        <button type="button" className="primary" onClick={() => void setContactStatus(db, contact, 'accepted')}>
          Accept
        </button>
        <button type="button" onClick={() => void setContactStatus(db, contact, 'ignored')}>
          Ignore
        </button>
        <button type="button" className="danger" onClick={() => void setContactStatus(db, contact, 'blocked')}>
          Block
        </button>
      </div>
    </div>
  );
}
