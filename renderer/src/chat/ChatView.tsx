import { useEffect } from 'react';
import { RequestBar } from '../contacts/RequestBar.js';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useUi } from '../stores/uiStore.js';
import { Composer } from './Composer.js';
import { MessageList } from './MessageList.js';
import { NewMessageAnnouncer } from './NewMessageAnnouncer.js';

/** One conversation: header, request bar for strangers, messages, composer. */
export function ChatView({ identityId, contactKey }: { identityId: string; contactKey: string }) {
  const contact = useLiveQuery(async () => (await database().contacts.get([identityId, contactKey])) ?? null, [identityId, contactKey], null);
  const unread = useLiveQuery(
    async () => (await database().conversations.get([identityId, contactKey]))?.unreadCount ?? 0,
    [identityId, contactKey],
    0,
  );

  // Reading the conversation clears its unread count (also for messages arriving while it is open).
  useEffect(() => {
    if (unread > 0 && document.visibilityState === 'visible') {
      void database().conversations.update([identityId, contactKey], { unreadCount: 0 });
    }
  }, [unread, identityId, contactKey]);

  if (!contact) return null;
  return (
    <section className="chat" aria-label={`Conversation with ${contact.alias}`}>
      <header className="chat-head">
        <span className="avatar" aria-hidden="true">
          {contact.alias.slice(0, 1).toUpperCase()}
        </span>
        <div>
          <h1 className="chat-title">{contact.alias}</h1>
          <p className="hint">
            {contact.status === 'verified' ? 'Verified contact' : contact.status === 'unknown' ? 'Not in your contacts' : 'Not verified yet'}
          </p>
        </div>
        <button
          type="button"
          className="ghost"
          onClick={() => {
            useUi.getState().setView('contacts');
            useUi.setState({ selectedContactKey: contact.publicKey });
          }}
        >
          Contact details
        </button>
      </header>
      {contact.status === 'unknown' && <RequestBar contact={contact} />}
      <MessageList identityId={identityId} contactKey={contactKey} />
      <NewMessageAnnouncer identityId={identityId} contactKey={contactKey} alias={contact.alias} />
      {contact.status !== 'unknown' && contact.status !== 'blocked' && <Composer identityId={identityId} contact={contact} />}
    </section>
  );
}
