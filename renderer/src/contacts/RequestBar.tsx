import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { MAX_REQUEST_MESSAGES } from '../db/senderBounds.js';
import { useSession } from '../stores/sessionStore.js';
import { acceptContact, setContactStatus } from './contactActions.js';

/** A stranger wrote: the user decides before any reply (or receipt of reading) is possible. */
export function RequestBar({ contact }: { contact: ContactRecord }) {
  const db = database();
  const bridge = useSession((s) => s.bridge);
  const offered = contact.offeredDropUrls ?? [];
  const unstored = contact.unstoredMessages ?? 0;
  return (
    <div className="request-bar" role="region" aria-label="Contact request">
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
        <button type="button" className="danger" onClick={() => void setContactStatus(db, contact, 'blocked')}>
          Block
        </button>
      </div>
    </div>
  );
}
