import { formatFingerprint } from '../../../shared/protocol/contacts.js';

/** The public key in groups of four hex characters, for comparing out of band (PROTOCOL.md 5). */
export function Fingerprint({ publicKey }: { publicKey: string }) {
  const groups = fingerprintGroups(publicKey);
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

function fingerprintGroups(publicKey: string): string[] {
  try {
    return formatFingerprint(publicKey).split(' ');
  } catch {
    // Keys are validated before they are stored; show whatever is there rather than nothing.
    return [publicKey];
  }
}
