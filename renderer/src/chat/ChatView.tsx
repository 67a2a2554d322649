import { useEffect } from 'react';
import { RequestBar } from '../contacts/RequestBar.js';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useUi } from '../stores/uiStore.js';
import { Composer } from './Composer.js';
import { MessageList } from './MessageList.js';
import { NewMessageAnnouncer } from './NewMessageAnnouncer.js';
import { KeyAvatar } from '../components/KeyAvatar.js';
import { formatFingerprint } from '../../../shared/protocol/contacts.js';

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
        <KeyAvatar publicKey={contact.publicKey} size={40} />
        <div>
          <h1 className="chat-title">{contact.alias}</h1>
          <p className="hint">
            {contact.status === 'verified' ? 'Verified contact' : contact.status === 'unknown' ? 'Not in your contacts' : 'Not verified yet'}
            {contact.status !== 'verified' && (
              // Two senders of one name differ here: the key's start, as the fingerprint shows it.
              <span className="mono" data-testid="chat-key-prefix" title="The start of this contact's key: compare the fingerprint to be sure">
                {' · key '}
                {formatFingerprint(contact.publicKey).split(' ').slice(0, 4).join(' ')}
              </span>
            )}
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
      {(contact.status === 'accepted' || contact.status === 'verified') && <Composer identityId={identityId} contact={contact} />}
    </section>
  );
}
