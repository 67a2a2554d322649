import { useState } from 'react';
import type { DeviceListStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { database, type DeaddropDatabase } from '../db/database.js';
import { useSession } from '../stores/sessionStore.js';
import { recordOwnRotation } from './keyRotation.js';

/** What replacing the key does, in the words the confirmation shows. */
export const ROTATE_EXPLAINED =
  'A new identity key is made on this device. Every accepted contact is sent it, signed by the old key, and moves your conversation to it; the other devices listed above get it sealed to their own device key. A removed device does not, so it can no longer read what is sent to you. Contacts see that your key changed and should compare safety numbers with you again. Whoever holds the old key (a stolen device) can also announce a new key of their own: contacts keep the first one they see, so do this soon. Messages to the old key are still read here for 7 days.';

/**
 * Sends the rotation: every accepted and verified contact with an address is named to the engine
 * (it owns the keys, the UI knows the contacts).
 */
export async function rotateIdentityKey(db: DeaddropDatabase, bridge: EngineBridge, identity: IdentitySummary): Promise<{ contacts: number; siblings: number } | { error: string }> {
  const contacts = await db.contacts
    .where('[identityId+status]')
    .anyOf([
      [identity.id, 'accepted'],
      [identity.id, 'verified'],
    ])
    .toArray();
  const recipients = contacts.filter((c) => c.dropUrls.length > 0).map((c) => ({ publicKey: c.publicKey, dropUrls: c.dropUrls.slice(0, 16) }));
  const result = await bridge.invoke('devices/rotateKey', { identityId: identity.id, contacts: recipients });
  if (!result.ok) return { error: result.error.message };
  await recordOwnRotation(db, identity.id, result.value.publicKey, recipients.map((r) => r.publicKey), Date.now());
  return { contacts: result.value.contacts, siblings: result.value.siblings };
}

/**
 * Settings → Devices: replace the identity key after a device was lost or stolen (electron/core/devices/
 * rotation.ts). Removing the device stops an honest one; a thief still holds the key until it is replaced.
 */
export function RotateIdentityKey({ identity, list }: { identity: IdentitySummary; list: DeviceListStatus }) {
  const bridge = useSession((s) => s.bridge);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (list.removedAt !== null) return null;
  const urged = list.removed.length > 0 || list.alarms.length > 0;

  const rotate = async () => {
    if (!bridge || busy) return;
    setBusy(true);
    setError(null);
    const result = await rotateIdentityKey(database(), bridge, identity);
    setBusy(false);
    setConfirming(false);
    if ('error' in result) setError(result.error);
    else setOutcome(`The key of ${identity.alias} was replaced: ${result.contacts} contact(s) and ${result.siblings} other device(s) were sent the new one.`);
  };

  return (
    <div className="stack" data-testid="rotate-key">
      <p className="hint">
        {urged
          ? `A device was removed or a contact sends to a device you did not add. If a device was lost or stolen, it still holds the key of ${identity.alias}: replace the key.`
          : 'If a device of this identity was lost or stolen, remove it above, then replace the identity key.'}
      </p>
      {confirming ? (
        <div className="stack" role="group" aria-label="Replace the identity key">
          <p>{ROTATE_EXPLAINED}</p>
          <div className="button-row">
            <button type="button" className="primary" onClick={() => void rotate()} disabled={!bridge || busy}>
              {busy ? 'Replacing…' : 'Replace the key now'}
            </button>
            <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <div className="button-row">
          <button type="button" className={urged ? 'primary' : undefined} onClick={() => setConfirming(true)} disabled={!bridge}>
            Replace the identity key…
          </button>
        </div>
      )}
      {outcome && (
        <p role="status" data-testid="rotate-outcome">
          {outcome}
        </p>
      )}
      {error && <p className="error">{error}</p>}
    </div>
  );
}
