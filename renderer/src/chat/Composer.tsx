import { type FormEvent, type KeyboardEvent, useDeferredValue, useEffect, useId, useMemo, useRef, useState } from 'react';
import { MAX_TEXT_PARTS } from '../../../shared/protocol/message.js';
import { database } from '../db/database.js';
import { queueTextMessage, submitMessage } from '../db/outbox.js';
import type { ContactRecord } from '../db/records.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { partsNeeded } from './partsNeeded.js';
import { useComposerFocus } from './chatIntents.js';
import { MAX_TEXT_LENGTH } from '../../../shared/protocol/textMessages.js';


/** Message input: Enter sends, Shift+Enter starts a new line. */
export function Composer({ identityId, contact }: { identityId: string; contact: ContactRecord }) {
  const bridge = useSession((s) => s.bridge);
  const inputId = useId();
  const identity = useActiveIdentity();
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  // Opened to write (after adding the contact): the cursor waits in the input.
  useEffect(() => {
    if (useComposerFocus.getState().contactKey !== contact.publicKey) return;
    useComposerFocus.setState({ contactKey: null });
    input.current?.focus();
  }, [contact.publicKey]);
  // Splitting a long text takes a moment: count on the deferred value so typing stays smooth.
  const deferredText = useDeferredValue(text);
  const parts = useMemo(
    () => (deferredText.trim() === '' || !identity ? 0 : partsNeeded(deferredText, identity)),
    [deferredText, identity],
  );
  const tooLong = text.length > MAX_TEXT_LENGTH || parts === null;
  const disabledReason =
    contact.dropUrls.length === 0 ? 'This contact did not give a drop address, so you cannot write to them yet.' : null;

  const send = async () => {
    if (!bridge || text.trim() === '' || tooLong || disabledReason) return;
    const body = text;
    setText('');
    try {
      const record = await queueTextMessage(database(), identityId, contact, body);
      // Like other messengers: what you send is shown, even when you were reading history.
      useUi.getState().noteSent();
      await submitMessage(database(), bridge, record);
    } catch {
      setText(body);
      useUi.getState().notify('error', 'The message could not be saved. Please try again.');
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void send();
  };

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor={inputId} className="visually-hidden">
        Message to {contact.alias}
      </label>
      <textarea
        ref={input}
        id={inputId}
        rows={Math.min(8, Math.max(1, text.split('\n').length))}
        placeholder={disabledReason ?? `Message ${shortName(contact.alias)}`}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        disabled={disabledReason !== null}
        aria-describedby={`${inputId}-hint`}
        data-testid="composer-input"
      />
      <button type="submit" className="primary" disabled={text.trim() === '' || tooLong || disabledReason !== null}>
        Send
      </button>
      <p id={`${inputId}-hint`} className="composer-hint" aria-live="polite">
        {tooLong
          ? text.length > MAX_TEXT_LENGTH
            ? `Too long: at most ${MAX_TEXT_LENGTH.toLocaleString()} characters.`
            : `Too long: it would take more than ${MAX_TEXT_PARTS} messages.`
          : parts !== null && parts > 1
            ? `Long text: it will be sent as ${parts} messages.`
            : 'Enter to send, Shift+Enter for a new line.'}
      </p>
    </form>
  );
}

/** A name for the input's placeholder, which cannot end in an ellipsis by itself: a 10,000-character alias would wrap. */
function shortName(alias: string): string {
  const chars = [...alias];
  return chars.length > 32 ? `${chars.slice(0, 31).join('')}…` : alias;
}
