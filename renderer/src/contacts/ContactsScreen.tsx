import { useRef, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { VirtualList } from '../components/VirtualList.js';
import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { MAX_OPEN_REQUESTS, unstoredRequestsKey } from '../db/senderBounds.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useUi } from '../stores/uiStore.js';
import { AddContactPanel } from './AddContactPanel.js';
import { ContactDetails } from './ContactDetails.js';
import { MyContactCard } from './MyContactCard.js';
import { KeyAvatar } from '../components/KeyAvatar.js';

type Pane = 'add' | 'me' | 'contact';

/** A contact row's height before it is measured. */
const CONTACT_ROW_PX = 56;

/**
 * Contacts of the active identity: requests first, then everyone else, both virtualised (thousands of
 * strangers stay cheap to list); add and share on the right.
 */
export function ContactsScreen({ identity }: { identity: IdentitySummary }) {
  const selected = useUi((s) => s.selectedContactKey);
  const [pane, setPane] = useState<Pane>(selected ? 'contact' : 'add');
  const contacts = useLiveQuery(
    () => database().contacts.where('identityId').equals(identity.id).sortBy('aliasLower'),
    [identity.id],
    [] as ContactRecord[],
  );
  const unstoredRequests = useLiveQuery(
    async () => Number((await database().settings.get(unstoredRequestsKey(identity.id)))?.value ?? 0),
    [identity.id],
    0,
  );
  const listRef = useRef<HTMLDivElement>(null);
  const requests = contacts.filter((c) => c.status === 'unknown');
  const known = contacts.filter((c) => c.status !== 'unknown');
  const current = pane === 'contact' ? contacts.find((c) => c.publicKey === selected) : undefined;
  const choose = (publicKey: string) => {
    useUi.setState({ selectedContactKey: publicKey });
    setPane('contact');
  };

  return (
    <div className="two-pane">
      <div className="list-pane" ref={listRef}>
        <h1>Contacts</h1>
        <div className="button-row">
          <button type="button" aria-pressed={pane === 'add'} onClick={() => setPane('add')}>
            New contact
          </button>
          <button type="button" aria-pressed={pane === 'me'} onClick={() => setPane('me')}>
            My contact card
          </button>
        </div>
        {requests.length > 0 && (
          <>
            <h2 className="section-title">Requests</h2>
            <VirtualList
              className="contact-list"
              items={requests}
              itemKey={(c) => c.publicKey}
              estimatePx={CONTACT_ROW_PX}
              scrollElement={() => listRef.current}
              renderItem={(c) => <ContactItem contact={c} selected={current?.publicKey} onChoose={choose} testId="request-item" />}
            />
          </>
        )}
        {unstoredRequests > 0 && (
          <p className="hint" data-testid="requests-unstored">
            And {unstoredRequests.toLocaleString()} more {unstoredRequests === 1 ? 'message' : 'messages'} from further strangers, not
            kept: at most {MAX_OPEN_REQUESTS} requests are kept open. Accepting, ignoring or blocking requests makes room.
          </p>
        )}
        <h2 className="section-title">Contacts</h2>
        {known.length === 0 ? (
          <p className="hint">No contacts yet.</p>
        ) : (
          <VirtualList
            className="contact-list"
            items={known}
            itemKey={(c) => c.publicKey}
            estimatePx={CONTACT_ROW_PX}
            scrollElement={() => listRef.current}
            renderItem={(c) => <ContactItem contact={c} selected={current?.publicKey} onChoose={choose} testId="contact-item" />}
          />
        )}
      </div>
      <div className="detail-pane">
        {pane === 'add' && <AddContactPanel onAdded={choose} />}
        {pane === 'me' && <MyContactCard identity={identity} />}
        {current && <ContactDetails key={current.publicKey} contact={current} />}
      </div>
    </div>
  );
}

function ContactItem(props: { contact: ContactRecord; selected: string | undefined; onChoose: (key: string) => void; testId: string }) {
  const c = props.contact;
  return (
    <button
      type="button"
      className="contact-item"
      aria-current={props.selected === c.publicKey ? 'true' : undefined}
      onClick={() => props.onChoose(c.publicKey)}
      data-testid={props.testId}
    >
      <KeyAvatar publicKey={c.publicKey} />
      <span className="contact-name">{c.alias}</span>
      {c.status === 'verified' && <span className="tag tag-verified">Verified</span>}
      {c.status === 'blocked' && <span className="tag tag-blocked">Blocked</span>}
      {c.status === 'ignored' && <span className="tag">Ignored</span>}
    </button>
  );
}
