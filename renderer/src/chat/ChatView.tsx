import { useEffect, useState } from 'react';
import type { SessionsStatus } from '../../../shared/ipc/contract.js';
import { useSession } from '../stores/sessionStore.js';
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
          <ForwardSecrecy identityId={identityId} contactKey={contact.publicKey} alias={contact.alias} />
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

/** How often the header asks again: a session starts with the first message either way. */
const REFRESH_MS = 10_000;

/**
 * Whether this conversation is forward secret (a version-1 session, PROTOCOL-V1.md 1c), from the
 * engine's `sessions/status`, with a one-line explanation on hover or keyboard focus.
 */
function ForwardSecrecy({ identityId, contactKey, alias }: { identityId: string; contactKey: string; alias: string }) {
  const bridge = useSession((s) => s.bridge);
  const [status, setStatus] = useState<SessionsStatus | null>(null);
  const [explained, setExplained] = useState(false);

  useEffect(() => {
    if (!bridge) return;
    let live = true;
    const ask = async () => {
      const result = await bridge.invoke('sessions/status', { identityId });
      if (live && result.ok) setStatus(result.value);
    };
    void ask();
    const timer = setInterval(() => void ask(), REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [bridge, identityId]);

  if (!status) return null;
  const entry = status.contacts[contactKey];
  const { label, explanation } =
    entry?.protocol === 1
      ? {
          label: `Forward secret${entry.since !== null ? ` since ${new Date(entry.since).toLocaleDateString()}` : ''}`,
          explanation: 'Each message has its own key, deleted once used: keys stolen later cannot read these messages.',
        }
      : entry
        ? {
            label: 'Not forward secret yet',
            explanation: `${alias}'s app supports it: it starts with the next message between you.`,
          }
        : status.sending
          ? {
              label: `Not forward secret: ${alias}'s app does not support it yet`,
              explanation: 'Messages are sealed to their long-term key: whoever steals that key later can read them.',
            }
          : {
              label: 'Not forward secret',
              explanation: 'Forward-secret sessions are not switched on in this app yet: messages are sealed to long-term keys.',
            };
  return (
    <p className="hint" data-testid="chat-forward-secrecy">
      <span
        tabIndex={0}
        title={explanation}
        aria-describedby={explained ? 'chat-forward-secrecy-why' : undefined}
        onFocus={() => setExplained(true)}
        onBlur={() => setExplained(false)}
        onMouseEnter={() => setExplained(true)}
        onMouseLeave={() => setExplained(false)}
      >
        {label}
      </span>
      {explained && (
        <span id="chat-forward-secrecy-why" role="note">
          {' · '}
          {explanation}
        </span>
      )}
    </p>
  );
}
