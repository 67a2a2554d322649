import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import type { ContactCard, IdentitySummary } from '../../../shared/ipc/contract.js';
import { serverOfDrop, shortDropId } from '../settings/dropUrls.js';
import { useSession } from '../stores/sessionStore.js';
import { downloadFile } from './fileDownload.js';
import { Fingerprint } from './Fingerprint.js';
import { ErrorText } from '../components/ErrorText.js';

/** My contact as a QR code, a `.qco` file and copyable text, with my fingerprint. */
export function MyContactCard({ identity }: { identity: IdentitySummary }) {
  const bridge = useSession((s) => s.bridge);
  const [card, setCard] = useState<ContactCard | null>(null);
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
      const dataUrl = await QRCode.toDataURL(result.value.contactString, { errorCorrectionLevel: 'M', margin: 2, width: 320 });
      if (live) setQr(dataUrl);
    })();
    return () => {
      live = false;
    };
    // The card changes whenever a drop is added or removed.
  }, [bridge, identity.id, identity.dropUrls.join(' ')]);

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
    if (qr) downloadFile(`contact-${identity.alias}.png`, pngFromDataUrl(qr));
  };

  return (
    <section className="panel" aria-labelledby="my-card-title">
      <h2 id="my-card-title">My contact card</h2>
      <p className="hint">Show this code to a friend, or send them the file. Anyone with it can write to you.</p>
      <ErrorText message={error} />
      {qr && <img className="qr" src={qr} alt={`QR code of the contact card of ${identity.alias}`} data-testid="my-qr" width={320} height={320} />}
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
          <button type="button" onClick={() => void copy(card.contactString)}>
            {copied === 'done' ? 'Copied' : 'Copy contact text'}
          </button>
        </div>
      )}
    </section>
  );
}

/** The PNG bytes of a `data:image/png;base64,…` URL (the CSP forbids fetching data: URLs). */
function pngFromDataUrl(dataUrl: string): Blob {
  const binary = atob(dataUrl.slice(dataUrl.indexOf(',') + 1));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type: 'image/png' });
}
