import { useEffect, useId, useState } from 'react';
import type { SessionsStatus } from '../../../shared/ipc/contract.js';
import { useSession } from '../stores/sessionStore.js';
import { RequestBar } from '../contacts/RequestBar.js';
import { NameConflictNote } from '../contacts/NameConflictNote.js';
import { database } from '../db/database.js';
import { readConversation } from '../devices/syncOut.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useUi } from '../stores/uiStore.js';
import { Composer } from './Composer.js';
import { MessageList } from './MessageList.js';
import { NewMessageAnnouncer } from './NewMessageAnnouncer.js';
import { KeyAvatar } from '../components/KeyAvatar.js';
import { formatFingerprint } from '../../../shared/protocol/contacts.js';
import { ErrorText } from '../components/ErrorText.js';
import { answerReset, useSessionsStatus } from './sessionResets.js';
import { todayDay } from '../contacts/readContact.js';

/** One conversation: header, request bar for strangers, messages, composer. */
export function ChatView({ identityId, contactKey }: { identityId: string; contactKey: string }) {
  const contact = useLiveQuery(async () => (await database().contacts.get([identityId, contactKey])) ?? null, [identityId, contactKey], null);
  const unread = useLiveQuery(
    async () => (await database().conversations.get([identityId, contactKey]))?.unreadCount ?? 0,
    [identityId, contactKey],
    0,
  );

  const [sessions, setSessions] = useSessionsStatus(database(), identityId);

  // Reading the conversation clears its unread count (also for messages arriving while it is open).
  useEffect(() => {
    if (unread > 0 && document.visibilityState === 'visible') {
      // The other devices of the identity hear of it too (sibling sync).
      void readConversation(database(), identityId, contactKey);
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
          <ForwardSecrecy status={sessions} contactKey={contact.publicKey} alias={contact.alias} prekeyUntilDay={contact.v1?.qrPrekeyExpiresDay ?? null} />
          <NameConflictNote contact={contact} />
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
      {sessions?.contacts[contact.publicKey]?.reset?.pending === true && (contact.status === 'accepted' || contact.status === 'verified') && (
        <ResetBanner key={sessions.contacts[contact.publicKey]!.reset!.at} identityId={identityId} contactKey={contact.publicKey} alias={contact.alias} onAnswered={setSessions} />
      )}
      <MessageList identityId={identityId} contactKey={contactKey} />
      <NewMessageAnnouncer identityId={identityId} contactKey={contactKey} alias={contact.alias} />
      {(contact.status === 'accepted' || contact.status === 'verified') && <Composer identityId={identityId} contact={contact} />}
    </section>
  );
}

/** A name cut to 40 characters (whole code points) with an ellipsis, for lines that must stay short. */
function shortName(name: string): string {
  const chars = Array.from(name);
  return chars.length > 40 ? `${chars.slice(0, 39).join('')}…` : name;
}

/**
 * Whether this conversation is forward secret (a version-1 session, PROTOCOL-V1.md 1c), from the
 * engine's `sessions/status`, with a one-line explanation: shown on hover or keyboard focus, and always
 * the focusable label's description, so a screen reader reads it with the label. The engine knows a
 * contact only once a message went either way: before that, whether their card carried a prekey
 * (`prekeyUntilDay`, the card's last day) says what the first message will do, and nothing is said
 * about their app, which is not known yet (a restored backup starts with no sessions, too).
 */
export function ForwardSecrecy({ status, contactKey, alias: fullAlias, prekeyUntilDay = null }: { status: SessionsStatus | null; contactKey: string; alias: string; prekeyUntilDay?: number | null }) {
  const whyId = useId();
  const [explained, setExplained] = useState(false);

  if (!status) return null;
  const entry = status.contacts[contactKey];
  // The line sits in the chat header: a name of thousands of characters would push the messages away.
  const alias = shortName(fullAlias);
  const { label, explanation } =
    entry?.protocol === 1
      ? {
          label: `Forward secret${entry.since !== null ? ` since ${new Date(entry.since).toLocaleDateString()}` : ''}`,
          explanation: 'Each message has its own key, deleted once used: keys stolen later cannot read these messages.',
        }
      : !status.sending
        ? {
            label: 'Not forward secret',
            explanation: 'Forward-secret sessions are not switched on in this app yet: messages are sealed to long-term keys.',
          }
        : entry?.reason
          ? { label: entry.reason === 'ownDevices' ? 'Not forward secret: you use several devices' : `Not forward secret: ${alias} uses several devices`, explanation: `${alias}’s app does not keep a session for each device yet: messages are sealed to long-term keys.` }
          : entry
          ? {
              label: 'Not forward secret yet',
              explanation: `${alias}'s app supports it: it starts with the next message between you.`,
            }
          : prekeyUntilDay !== null && prekeyUntilDay >= todayDay()
            ? {
                label: 'Not forward secret yet',
                explanation: `${alias}'s card carried a prekey: your next message starts a forward-secret session.`,
              }
            : {
                label: 'Not forward secret yet',
                explanation: `It starts once you and ${alias} have each written once, if ${alias}'s app supports it (original Qabel apps do not). Until then messages are sealed to long-term keys: whoever steals one later can read them.`,
              };
  return (
    <p className="hint" data-testid="chat-forward-secrecy" data-protocol={entry?.protocol ?? 0}>
      <span
        tabIndex={0}
        className="explained"
        aria-describedby={whyId}
        onFocus={() => setExplained(true)}
        onBlur={() => setExplained(false)}
        onMouseEnter={() => setExplained(true)}
        onMouseLeave={() => setExplained(false)}
      >
        {label}
      </span>
      {explained && <span aria-hidden="true">{' · '}</span>}
      <span id={whyId} className={explained ? undefined : 'visually-hidden'} data-testid="chat-forward-secrecy-why">
        {explanation}
      </span>
    </p>
  );
}

/**
 * Someone holding the contact's identity key started a new session with the reset flag (PROTOCOL-V1.md
 * 1c "RESET"): their app lost its sessions (a restored backup, a new install), or a thief of that key
 * is trying. Only the user can tell, so the old session stays until they answer. "Not now" only hides
 * the question until the conversation is opened again: rejecting deletes the new session, and someone
 * who first asks the contact in person must still be able to accept afterwards.
 */
function ResetBanner({ identityId, contactKey, alias, onAnswered }: { identityId: string; contactKey: string; alias: string; onAnswered: (status: SessionsStatus) => void }) {
  const bridge = useSession((s) => s.bridge);
  const [hidden, setHidden] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (hidden || !bridge) return null;

  const answer = async (accept: boolean) => {
    setBusy(true);
    const outcome = await answerReset(database(), bridge, identityId, contactKey, accept);
    setBusy(false);
    if (!outcome.ok) return setError(outcome.error);
    setError(null);
    onAnswered(outcome.status);
  };

  return (
    <div className="request-bar" role="region" aria-label="New secure session" data-testid="reset-banner">
      <p>
        {alias}’s app started a new secure session. This proves only their identity key: if you did not expect it (for example
        they did not restore a backup), ask them in person.
      </p>
      <p className="hint">Until you accept, your messages go in the old session. Reject keeps it and drops the new one.</p>
      <ErrorText message={error} />
      <div className="button-row">
        <button type="button" className="primary" disabled={busy} onClick={() => void answer(true)}>
          Accept
        </button>
        <button type="button" disabled={busy} onClick={() => setHidden(true)}>
          Not now
        </button>
        <button type="button" className="danger ghost" disabled={busy} onClick={() => void answer(false)}>
          Reject
        </button>
      </div>
    </div>
  );
}
