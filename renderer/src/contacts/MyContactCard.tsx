import QRCode from 'qrcode';
import { useEffect, useId, useState } from 'react';
import type { ContactCard, IdentitySummary } from '../../../shared/ipc/contract.js';
import { parseContactStringV1 } from '../../../shared/protocol/contacts.js';
import { serverOfDrop, shortDropId } from '../settings/dropUrls.js';
import { useSession } from '../stores/sessionStore.js';
import { downloadFile } from './fileDownload.js';
import { Fingerprint } from './Fingerprint.js';
import { ErrorText } from '../components/ErrorText.js';

const DAY_MS = 86_400_000;

/**
 * My contact as a QR code, a `.qco` file and copyable text, with my fingerprint. By default the
 * five-line `DEADDROP1` card, whose prekey lets a contact's messages be forward secret before we ever answer
 * (PROTOCOL-V1.md 1c); "For Qabel apps" shows the four-line `QABELCONTACT` card instead, the only one
 * their scanners read.
 */
export function MyContactCard({ identity }: { identity: IdentitySummary }) {
  const bridge = useSession((s) => s.bridge);
  const switchId = useId();
  const [card, setCard] = useState<ContactCard | null>(null);
  const [forQabel, setForQabel] = useState(false);
  const [qr, setQr] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    void (async () => {
      const result = await bridge?.invoke('identities/contactCard', { identityId: identity.id });
      if (!live || !result) return;
      if (!result.ok) {
        setError(result.error.message);
        return;
      }
      setCard(result.value);
    })();
    return () => {
      live = false;
    };
    // The card changes whenever a drop is added or removed.
  }, [bridge, identity.id, identity.dropUrls.join(' ')]);

  const shown = card ? (forQabel ? card.contactString : card.v1ContactString) : null;
  const prekeyUntil = card ? prekeyLastDay(card.v1ContactString) : null;

  useEffect(() => {
    if (shown === null) return;
    let live = true;
    setQr(null);
    void QRCode.toDataURL(shown, { errorCorrectionLevel: 'M', margin: 2, width: 320 }).then((dataUrl) => {
      if (live) setQr(dataUrl);
    });
    return () => {
      live = false;
    };
  }, [shown]);

  const [copied, setCopied] = useState<'idle' | 'done'>('idle');
  const copy = async (text: string) => {
    setError(null);
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      setCopied('done');
      setTimeout(() => setCopied('idle'), 2000);
    } catch {
      setError('The contact text could not be copied here: export the .qco file or show the QR code instead.');
    }
  };

  const saveQr = () => {
    if (qr) downloadFile(`contact-${identity.alias}${forQabel ? '-qabel' : ''}.png`, pngFromDataUrl(qr));
  };

  return (
    <section className="panel" aria-labelledby="my-card-title">
      <h2 id="my-card-title">My contact card</h2>
      <p className="hint">Show this code to a friend, or send them the file. Anyone with it can write to you.</p>
      <ErrorText message={error} />
      <label className="choice" htmlFor={switchId}>
        <input
          id={switchId}
          type="checkbox"
          role="switch"
          checked={forQabel}
          onChange={(e) => setForQabel(e.target.checked)}
          aria-describedby={`${switchId}-hint`}
          data-testid="card-for-qabel"
        />
        <span>For Qabel apps</span>
      </label>
      <p className="hint" id={`${switchId}-hint`}>
        {forQabel
          ? 'The older four-line code (QABELCONTACT) that Qabel apps read. Deaddrop reads it too, but messages then become forward secret only once you answer.'
          : `Deaddrop’s five-line code (DEADDROP1): its prekey lets a contact’s messages be forward secret before you ever answer${prekeyUntil ? ` (this code’s prekey works until ${prekeyUntil})` : ''}. Qabel apps cannot read it: switch on “For Qabel apps” for them.`}
      </p>
      {qr && (
        <img
          className="qr"
          src={qr}
          alt={`QR code of the ${forQabel ? 'Qabel ' : ''}contact card of ${identity.alias}`}
          data-testid="my-qr"
          data-format={forQabel ? 'QABELCONTACT' : 'DEADDROP1'}
          width={320}
          height={320}
        />
      )}
      {shown !== null && (
        <pre className="mono contact-text" data-testid="my-contact-text" aria-label="Contact code as text">
          {shown}
        </pre>
      )}
      <Fingerprint publicKey={identity.publicKey} />
      <h3 className="card-drops-title">Contacts write to</h3>
      <ul className="card-drops" aria-label="Drops on this card">
        {identity.dropUrls.map((dropUrl) => (
          <li key={dropUrl} className="mono">
            {serverOfDrop(dropUrl)} <span className="hint">({shortDropId(dropUrl)})</span>
          </li>
        ))}
      </ul>
      {card && (
        <div className="button-row">
          <button type="button" className="primary" onClick={() => downloadFile(card.fileName, card.qco, 'application/json')}>
            Export .qco file
          </button>
          <button type="button" onClick={saveQr} disabled={!qr}>
            Save QR code as PNG
          </button>
          <button type="button" onClick={() => void copy(shown ?? card.v1ContactString)}>
            {copied === 'done' ? 'Copied' : 'Copy contact text'}
          </button>
        </div>
      )}
    </section>
  );
}

/** The prekey's last day of a `DEADDROP1` string, as a local date; null when it does not parse. */
function prekeyLastDay(v1ContactString: string): string | null {
  try {
    const day = parseContactStringV1(v1ContactString).v1?.qrPrekeyExpiresDay;
    return day === undefined ? null : new Date(day * DAY_MS).toLocaleDateString(undefined, { timeZone: 'UTC' });
  } catch {
    return null;
  }
}

/** The PNG bytes of a `data:image/png;base64,…` URL (the CSP forbids fetching data: URLs). */
function pngFromDataUrl(dataUrl: string): Blob {
  const binary = atob(dataUrl.slice(dataUrl.indexOf(',') + 1));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type: 'image/png' });
}
