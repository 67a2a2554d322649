import { useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useUi } from '../stores/uiStore.js';
import { AddContactPanel } from './AddContactPanel.js';
import { ContactDetails } from './ContactDetails.js';
import { MyContactCard } from './MyContactCard.js';

type Pane = 'add' | 'me' | 'contact';

/** Contacts of the active identity: requests first, then everyone else; add and share on the right. */
export function ContactsScreen({ identity }: { identity: IdentitySummary }) {
  const selected = useUi((s) => s.selectedContactKey);
  const [pane, setPane] = useState<Pane>(selected ? 'contact' : 'add');
  const contacts = useLiveQuery(
    () => database().contacts.where('identityId').equals(identity.id).sortBy('aliasLower'),
    [identity.id],
    [] as ContactRecord[],
  );
  const requests = contacts.filter((c) => c.status === 'unknown');
  const known = contacts.filter((c) => c.status !== 'unknown');
  const current = pane === 'contact' ? contacts.find((c) => c.publicKey === selected) : undefined;
  const choose = (publicKey: string) => {
    useUi.setState({ selectedContactKey: publicKey });
    setPane('contact');
  };

  return (
    <div className="two-pane">
      <div className="list-pane">
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
            <ContactList contacts={requests} selected={current?.publicKey} onChoose={choose} testId="request-item" />
          </>
        )}
        <h2 className="section-title">Contacts</h2>
        {known.length === 0 ? (
          <p className="hint">No contacts yet.</p>
        ) : (
          <ContactList contacts={known} selected={current?.publicKey} onChoose={choose} testId="contact-item" />
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

function ContactList(props: { contacts: ContactRecord[]; selected: string | undefined; onChoose: (key: string) => void; testId: string }) {
  return (
    <ul className="contact-list">
      {props.contacts.map((c) => (
        <li key={c.publicKey}>
          <button
            type="button"
            className="contact-item"
            aria-current={props.selected === c.publicKey ? 'true' : undefined}
            onClick={() => props.onChoose(c.publicKey)}
            data-testid={props.testId}
          >
            <span className="avatar" aria-hidden="true">
              {c.alias.slice(0, 1).toUpperCase()}
            </span>
            <span className="contact-name">{c.alias}</span>
            {c.status === 'verified' && <span className="tag tag-verified">Verified</span>}
            {c.status === 'blocked' && <span className="tag tag-blocked">Blocked</span>}
            {c.status === 'ignored' && <span className="tag">Ignored</span>}
          </button>
        </li>
      ))}
    </ul>
  );
}
