import { type ClipboardEvent, type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { MAX_TEXT_PARTS } from '../../../shared/protocol/message.js';
import { database } from '../db/database.js';
import { queueTextMessage, submitMessage } from '../db/outbox.js';
import type { ContactRecord } from '../db/records.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { partsNeeded, usePartsNeeded } from './partsNeeded.js';
import { useComposerFocus } from './chatIntents.js';
import { MAX_TEXT_LENGTH } from '../../../shared/protocol/textMessages.js';
import { formatBytes } from '../files/formatBytes.js';
import { FileSendError, MAX_CAPTION_LENGTH, refuseFile, sendFile } from '../files/sendFile.js';
import { watchFileProgress } from '../files/transfers.js';
import '../files/files.css';
import { REMOVED_READ_ONLY, useRemovedHere } from '../devices/DevicesPanelAlarm.js';

/**
 * Message input: Enter sends, Shift+Enter starts a new line. A file (the attach button, dropped on
 * the conversation, or an image pasted) waits above the input until Send; the text is its caption.
 */
export function Composer({ identityId, contact }: { identityId: string; contact: ContactRecord }) {
  const bridge = useSession((s) => s.bridge);
  const inputId = useId();
  const identity = useActiveIdentity();
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  const form = useRef<HTMLFormElement>(null);
  const [attachment, setAttachment] = useState<File | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  // Opened to write (after adding the contact): the cursor waits in the input.
  useEffect(() => {
    if (useComposerFocus.getState().contactKey !== contact.publicKey) return;
    useComposerFocus.setState({ contactKey: null });
    input.current?.focus();
  }, [contact.publicKey]);
  // Splitting a long text takes a moment: it is counted once typing pauses (usePartsNeeded).
  const parts = usePartsNeeded(text, identity);
  const captionTooLong = attachment !== null && text.length > MAX_CAPTION_LENGTH;
  const tooLong = attachment === null && (text.length > MAX_TEXT_LENGTH || parts === null);
  // Another device removed this one from the identity: read only (devices/removedGuard.ts refuses anyway).
  const removed = useRemovedHere(identityId);
  const disabledReason = removed
    ? REMOVED_READ_ONLY
    : contact.dropUrls.length === 0
      ? 'This contact did not give a drop address, so you cannot write to them yet.'
      : null;
  const canSend = !disabledReason && !tooLong && !captionTooLong && (attachment !== null || text.trim() !== '');

  /** Takes the first of `files` as the attachment; a file too large is refused before anything is read. */
  const attach = (files: FileList | File[] | null | undefined) => {
    const list = files ? [...files] : [];
    const file = list[0];
    if (!file) return;
    if (disabledReason) return setRefusal(disabledReason);
    const refused = refuseFile(file);
    setRefusal(refused ?? (list.length > 1 ? 'One file at a time: the first one is attached.' : null));
    setAttachment(refused ? null : file);
    if (!refused) input.current?.focus();
  };

  const attachRef = useRef(attach);
  attachRef.current = attach;
  // Files dropped anywhere on the conversation are attached, not opened by the browser.
  useEffect(() => {
    const chat = form.current?.closest('.chat');
    if (!(chat instanceof HTMLElement)) return;
    const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') === true;
    const over = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
      chat.classList.add('file-drop-active');
    };
    const leave = (event: DragEvent) => {
      if (event.relatedTarget === null || !chat.contains(event.relatedTarget as Node)) chat.classList.remove('file-drop-active');
    };
    const drop = (event: DragEvent) => {
      chat.classList.remove('file-drop-active');
      if (!hasFiles(event)) return;
      event.preventDefault();
      attachRef.current(event.dataTransfer?.files);
    };
    chat.addEventListener('dragover', over);
    chat.addEventListener('dragleave', leave);
    chat.addEventListener('drop', drop);
    return () => {
      chat.removeEventListener('dragover', over);
      chat.removeEventListener('dragleave', leave);
      chat.removeEventListener('drop', drop);
      chat.classList.remove('file-drop-active');
    };
  }, []);
  // From the first conversation opened on, the engine's file events are followed: a file sent gets
  // its progress and, once posted, its acknowledge ids (for "delivered") also while its row is scrolled away.
  useEffect(() => {
    if (bridge) watchFileProgress(bridge, database());
  }, [bridge]);

  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = [...event.clipboardData.files];
    if (files.length === 0) return;
    event.preventDefault();
    attach(files);
  };

  const sendAttachment = async (file: File) => {
    if (!bridge) return;
    const caption = text;
    setText('');
    setAttachment(null);
    setRefusal(null);
    try {
      await sendFile(bridge, database(), identityId, contact, file, caption);
      useUi.getState().noteSent();
    } catch (error) {
      setText(caption);
      setAttachment(file);
      if (error instanceof FileSendError) setRefusal(error.message);
      else useUi.getState().notify('error', 'The file could not be saved. Please try again.');
    }
  };

  const send = async () => {
    if (!canSend) return;
    if (attachment) return sendAttachment(attachment);
    if (!bridge || text.trim() === '' || tooLong || disabledReason) return;
    // A long text may have been sent before typing paused: counted now, once.
    if (parts === undefined && identity && partsNeeded(text, identity) === null) {
      return setRefusal(`Too long: it would take more than ${MAX_TEXT_PARTS} messages.`);
    }
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

  const hint =
    refusal ??
    (captionTooLong
      ? `Caption too long: at most ${MAX_CAPTION_LENGTH} characters.`
      : attachment
        ? 'Enter to send the file, with the text as its caption.'
        : tooLong
          ? text.length > MAX_TEXT_LENGTH
            ? `Too long: at most ${MAX_TEXT_LENGTH.toLocaleString()} characters.`
            : `Too long: it would take more than ${MAX_TEXT_PARTS} messages.`
          : parts != null && parts > 1
            ? `Long text: it will be sent as ${parts} messages.`
            : 'Enter to send, Shift+Enter for a new line.');

  return (
    <form className="composer" onSubmit={onSubmit} ref={form}>
      {attachment && (
        <p className="attachment" data-testid="composer-attachment">
          <span aria-hidden="true">📎</span>
          <span className="file-name" title={attachment.name}>
            {attachment.name}
          </span>
          <span className="hint">({formatBytes(attachment.size)})</span>
          <button type="button" className="ghost small" onClick={() => setAttachment(null)} aria-label={`Remove the attached file ${attachment.name}`}>
            Remove
          </button>
        </p>
      )}
      <label htmlFor={inputId} className="visually-hidden">
        {attachment ? `Caption for the file to ${contact.alias}` : `Message to ${contact.alias}`}
      </label>
      <textarea
        ref={input}
        id={inputId}
        rows={inputRows(text)}
        placeholder={disabledReason ?? (attachment ? 'Add a caption (optional)' : `Message ${shortName(contact.alias)}`)}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          // A refused long text: the refusal goes with the next edit (a refused file's stays).
          if (refusal && !attachment) setRefusal(null);
        }}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
        disabled={disabledReason !== null}
        aria-describedby={`${inputId}-hint`}
        data-testid="composer-input"
      />
      <div className="composer-buttons">
        <input
          id={`${inputId}-file`}
          className="visually-hidden"
          type="file"
          disabled={disabledReason !== null}
          onChange={(e) => {
            attach(e.target.files);
            e.target.value = '';
          }}
          data-testid="composer-file"
        />
        <label className="button" htmlFor={`${inputId}-file`} title="Attach a file">
          <span aria-hidden="true">📎</span> Attach
        </label>
        <button type="submit" className="primary" disabled={!canSend}>
          Send
        </button>
      </div>
      <p id={`${inputId}-hint`} className="composer-hint" aria-live="polite" role={refusal ? 'alert' : undefined}>
        {hint}
      </p>
    </form>
  );
}

/** A name for the input's placeholder, which cannot end in an ellipsis by itself: a 10,000-character alias would wrap. */
function shortName(alias: string): string {
  const chars = [...alias];
  return chars.length > 32 ? `${chars.slice(0, 31).join('')}…` : alias;
}

/** Lines the input shows (1 to 8): counts line breaks up to the eighth, without splitting the whole text on every key. */
function inputRows(text: string): number {
  let rows = 1;
  for (let at = text.indexOf('\n'); at !== -1 && rows < 8; at = text.indexOf('\n', at + 1)) rows++;
  return rows;
}
