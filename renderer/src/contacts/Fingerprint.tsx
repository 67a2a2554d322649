import { formatFingerprint } from '../../../shared/protocol/contacts.js';

/** The public key in groups of four hex characters, for comparing out of band (PROTOCOL.md 5). */
export function Fingerprint({ publicKey }: { publicKey: string }) {
  const groups = formatFingerprint(publicKey).split(/\s+/);
  return (
    <figure className="fingerprint-figure">
      <figcaption className="hint">Fingerprint</figcaption>
      <div className="fingerprint" data-testid="fingerprint" aria-label={`Fingerprint ${groups.join(' ')}`}>
        {groups.map((g, i) => (
          <span key={i}>{g}</span>
        ))}
      </div>
    </figure>
  );
}
