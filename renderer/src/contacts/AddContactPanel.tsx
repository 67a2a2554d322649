import { type DragEvent, type FormEvent, useCallback, useId, useState } from 'react';
import { database } from '../db/database.js';
import { answerHeldReceipts } from '../db/heldReceipts.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { CameraScanner } from './CameraScanner.js';
import { addContact } from './contactActions.js';
import { decodeQrImageFile } from './qrDecode.js';
import { type ContactReadResult, MAX_CONTACT_FILE_BYTES, readContactFile, readContactText } from './readContact.js';

/** Add a contact: paste a contact string, choose or drop a `.qco` file, open a QR image, or scan. */
export function AddContactPanel({ onAdded }: { onAdded: (publicKey: string) => void }) {
  const identity = useActiveIdentity();
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [scanning, setScanning] = useState(false);
  const [dragging, setDragging] = useState(false);

  const store = useCallback(
    async (result: ContactReadResult) => {
      if (!identity) return;
      if (!result.ok) {
        setError(result.reason);
        return;
      }
      const added: string[] = [];
      const updated: string[] = [];
      for (const contact of result.contacts) {
        const outcome = await addContact(database(), identity.id, identity.publicKey, contact);
        if (outcome === 'added') added.push(contact.alias);
        if (outcome === 'updated') {
          updated.push(contact.alias);
          // Adding someone who already wrote accepts them: answer what their messages asked for.
          await answerHeldReceipts(database(), bridge, identity.id, contact.publicKey);
        }
      }
      const first = result.contacts.find((c) => c.publicKey !== identity.publicKey);
      if (!first) {
        setError('That is your own contact card.');
        return;
      }
      setError(null);
      setText('');
      // The panel closes for the new contact's details: what was left out of a card goes in the same notice.
      useUi.getState().notify('info', [addedNotice(added, updated), ...result.notes].join(' '));
      onAdded(first.publicKey);
    },
    [identity, onAdded, bridge],
  );

  const onPaste = (event: FormEvent) => {
    event.preventDefault();
    void store(readContactText(text));
  };
  const onFiles = async (files: FileList | null | undefined) => {
    const file = files?.[0];
    if (!file) return;
    if (file.type.startsWith('image/')) {
      const qr = await decodeQrImageFile(file);
      await store(qr.ok ? readContactText(qr.text) : qr);
    } else {
      await store(await readContactFile(file));
    }
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void onFiles(event.dataTransfer.files);
  };
  const onScanned = useCallback((scanned: string) => {
    setScanning(false);
    void store(readContactText(scanned));
  }, [store]);

  return (
    <section className="panel" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>Add a contact</h2>
      <form className="stack" onSubmit={onPaste}>
        <label htmlFor={`${formId}-text`}>Paste a contact</label>
        <p className="hint" id={`${formId}-formats`}>
          A contact code from Deaddrop (five lines, DEADDROP1) or from a Qabel app (four lines, QABELCONTACT), or a .qco file’s text.
        </p>
        <textarea
          id={`${formId}-text`}
          rows={5}
          placeholder={'DEADDROP1 (or QABELCONTACT)\nAlias\nhttps://drop.example.org/…\n64 hex characters\nprekey (DEADDROP1 only)'}
          value={text}
          // Bounded like a contact file: each key re-lays out the whole text, so a 100,000-character
          // name pasted or typed in here froze the window for a minute.
          maxLength={MAX_CONTACT_FILE_BYTES}
          onChange={(e) => setText(e.target.value)}
          data-testid="contact-paste"
          aria-describedby={`${formId}-formats`}
        />
        <button type="submit" className="primary" disabled={text.trim() === ''}>
          Add contact
        </button>
      </form>
      <div
        className={`drop-zone ${dragging ? 'dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>Or drop a .qco file or a QR code image here.</p>
        <div className="button-row">
          <input
            id={`${formId}-qco`}
            className="visually-hidden"
            type="file"
            accept=".qco,application/json"
            onChange={(e) => {
              void onFiles(e.target.files);
              e.target.value = '';
            }}
            data-testid="contact-file"
          />
          <label className="button" htmlFor={`${formId}-qco`}>
            Choose .qco file
          </label>
          <input
            id={`${formId}-qr`}
            className="visually-hidden"
            type="file"
            accept="image/*"
            onChange={(e) => {
              void onFiles(e.target.files);
              e.target.value = '';
            }}
            data-testid="contact-qr-image"
          />
          <label className="button" htmlFor={`${formId}-qr`}>
            Open QR code image
          </label>
          <button type="button" onClick={() => setScanning((s) => !s)} aria-expanded={scanning}>
            Scan with camera
          </button>
        </div>
      </div>
      {scanning && <CameraScanner onText={onScanned} onClose={() => setScanning(false)} />}
      {error && (
        <p className="error-text" role="alert" data-testid="add-contact-error">
          {error}
        </p>
      )}
    </section>
  );
}

function addedNotice(added: string[], updated: string[]): string {
  if (added.length === 1 && updated.length === 0) return `${added[0]} was added to your contacts.`;
  if (added.length === 0 && updated.length === 1) return `${updated[0]} is already in your contacts; the card was updated.`;
  return `${added.length} contacts added, ${updated.length} updated.`;
}
