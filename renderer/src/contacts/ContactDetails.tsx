import { type FormEvent, useEffect, useId, useState } from 'react';
import { LinkifiedText } from '../chat/LinkifiedText.js';
import { formatFullTime, formatMessageTime } from '../chat/formatTime.js';
import { database } from '../db/database.js';
import { postsOf } from '../db/posts.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import type { ContactRecord, PostRecord } from '../db/records.js';
import { useUi } from '../stores/uiStore.js';
import { useComposerFocus } from '../chat/chatIntents.js';
import { acceptContact, renameContact, setContactStatus } from './contactActions.js';
import { useSession } from '../stores/sessionStore.js';
import { Fingerprint } from './Fingerprint.js';
import { NameConflictNote } from './NameConflictNote.js';
import { RequestBar } from './RequestBar.js';
import { blockContact, removeContact } from './revokeTickets.js';

const statusText: Record<ContactRecord['status'], string> = {
  unknown: 'Contact request',
  accepted: 'Not verified',
  verified: 'Verified',
  ignored: 'Ignored',
  blocked: 'Blocked',
};

/** Fingerprint, verification, rename, block and delete for one contact. */
export function ContactDetails({ contact }: { contact: ContactRecord }) {
  const db = database();
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [alias, setAlias] = useState(contact.alias);
  const [confirmDelete, setConfirmDelete] = useState(false);
  // The name may change while this is open (the contact announced a new one): the field follows it.
  useEffect(() => setAlias(contact.alias), [contact.alias]);

  const rename = (event: FormEvent) => {
    event.preventDefault();
    void renameContact(db, contact, alias);
  };

  return (
    <section className="panel" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>{contact.alias}</h2>
      <p>
        <span className={`tag tag-${contact.status}`}>{statusText[contact.status]}</span>
      </p>
      {contact.status === 'unknown' && <RequestBar contact={contact} />}
      <NameConflictNote contact={contact} />
      <Fingerprint publicKey={contact.publicKey} />
      <p className="hint">
        Compare this fingerprint with the one your contact sees under “My contact card”, in person or on a call. If
        they match, mark the contact as verified.
      </p>
      <div className="button-row">
        {(contact.status === 'accepted' || contact.status === 'verified') && (
          <button
            type="button"
            className="primary"
            onClick={() => {
              useComposerFocus.setState({ contactKey: contact.publicKey });
              useUi.getState().openConversation(contact.publicKey);
            }}
          >
            Open conversation
          </button>
        )}
        {contact.status === 'accepted' && (
          <button type="button" onClick={() => void setContactStatus(db, contact, 'verified')}>
            Mark verified
          </button>
        )}
        {contact.status === 'verified' && (
          <button type="button" onClick={() => void setContactStatus(db, contact, 'accepted')}>
            Remove verification
          </button>
        )}
        {(contact.status === 'blocked' || contact.status === 'ignored') && (
          <button type="button" onClick={() => void acceptContact(db, bridge, contact)}>
            {contact.status === 'blocked' ? 'Unblock' : 'Accept'}
          </button>
        )}
        {contact.status !== 'blocked' && (
          <button type="button" className="danger" onClick={() => void blockContact(db, bridge, contact)}>
            Block
          </button>
        )}
      </div>
      <form className="inline-form" onSubmit={rename}>
        <label htmlFor={`${formId}-alias`}>Name</label>
        <input id={`${formId}-alias`} value={alias} onChange={(e) => setAlias(e.target.value)} maxLength={64} />
        <button type="submit" disabled={alias.trim() === '' || alias === contact.alias}>
          Rename
        </button>
      </form>
      <h3 id={`${formId}-drops`}>Drop addresses</h3>
      <ul className="plain-list mono" aria-labelledby={`${formId}-drops`}>
        {contact.dropUrls.length > 0
          ? contact.dropUrls.map((url) => <li key={url}>{url}</li>)
          : (contact.offeredDropUrls ?? []).length > 0
            ? <li>None accepted yet; their message names {(contact.offeredDropUrls ?? []).join(', ')}, used only once you accept them</li>
            : <li>None known</li>}
      </ul>
      {contact.v1 && (
        <p className="hint" data-testid="contact-prekey">
          Their card carried a prekey, usable until {new Date(contact.v1.qrPrekeyExpiresDay * 86_400_000).toLocaleDateString(undefined, { timeZone: 'UTC' })}: your
          messages to them can be forward secret before they ever answer.
        </p>
      )}
      <ContactPosts contact={contact} />
      <div className="danger-zone">
        {confirmDelete ? (
          <div className="button-row" role="group" aria-label="Confirm deletion">
            <span>Delete {contact.alias} and the whole conversation?</span>
            <button
              type="button"
              className="danger"
              onClick={() => {
                void removeContact(db, bridge, contact);
                useUi.setState({ selectedContactKey: null });
              }}
            >
              Delete
            </button>
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Keep
            </button>
          </div>
        ) : (
          <button type="button" className="danger ghost" onClick={() => setConfirmDelete(true)}>
            Delete contact…
          </button>
        )}
      </div>
    </section>
  );
}

/** What the contact posted to this identity, newest first (their feed entries, here by themselves). */
function ContactPosts({ contact }: { contact: ContactRecord }) {
  const posts = useLiveQuery(() => postsOf(database(), contact.identityId, contact.publicKey), [contact.identityId, contact.publicKey], [] as PostRecord[]);
  if (posts.length === 0) return null;
  return (
    <section aria-label={`Posts of ${contact.alias}`}>
      <h3>Posts</h3>
      <ul className="plain-list" data-testid="contact-posts">
        {posts.map((post) => (
          <li key={post.id}>
            <time className="hint" dateTime={new Date(post.sortAt).toISOString()} title={formatFullTime(post.sortAt)}>
              {formatMessageTime(post.sortAt)}
            </time>
            <p className="message-text" dir="auto">
              <LinkifiedText text={post.text} />
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
