import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { DeviceLinkStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import { ErrorText } from '../components/ErrorText.js';
import { CameraScanner } from '../contacts/CameraScanner.js';
import { database } from '../db/database.js';
import { adoptIdentity } from '../identities/adoptIdentity.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { LinkProgress } from './DevicesPanel.js';
import { cancelLink, finishJoin, spacedCode, useLinkStatus } from './deviceLinkTransfer.js';

/**
 * "Link to an existing device" (a new profile, or one more identity here): scan or paste the code the
 * other device shows under Settings → Devices, check that both show the same six digits, and the
 * identity arrives with its contacts and history.
 */
export function LinkExistingDeviceForm({ onLinked }: { onLinked: (identity: IdentitySummary) => void }) {
  const bridge = useSession((s) => s.bridge);
  const canScan = useCapability('cameraGate') || typeof navigator.mediaDevices?.getUserMedia === 'function';
  const formId = useId();
  const [linkString, setLinkString] = useState('');
  const [deviceName, setDeviceName] = useState(defaultDeviceName());
  const [scanning, setScanning] = useState(false);
  const [joined, setJoined] = useState<DeviceLinkStatus | null>(null);
  const [busy, setBusy] = useState(false);
  const [finishing, setFinishing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const status = useLinkStatus(bridge, joined);
  const finished = useRef(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || busy || linkString.trim() === '' || deviceName.trim() === '') return;
    setBusy(true);
    setError(null);
    const result = await bridge.invoke('devices/linkJoin', { linkString: linkString.trim(), deviceName: deviceName.trim() });
    setBusy(false);
    if (result.ok) setJoined(result.value);
    else setError(result.error.message);
  };

  // Everything arrived and checked out: store it and add the identity, once.
  useEffect(() => {
    if (!bridge || status?.state !== 'received' || finished.current) return;
    finished.current = true;
    void (async () => {
      try {
        const identity = await finishJoin(bridge, database(), status, setFinishing);
        await adoptIdentity(bridge, identity);
        const preview = status.preview;
        useUi
          .getState()
          .notify('info', `${identity.alias} is now on this device too${preview ? `, with ${preview.contacts} contact${preview.contacts === 1 ? '' : 's'} and ${preview.messages} message${preview.messages === 1 ? '' : 's'}` : ''}.`);
        onLinked(identity);
      } catch (err) {
        cancelLink(bridge, status.linkId);
        setError(err instanceof Error ? err.message : 'The identity could not be added.');
      } finally {
        setFinishing(null);
      }
    })();
  }, [bridge, status, onLinked]);

  const startOver = () => {
    if (bridge && status && !['done', 'failed'].includes(status.state)) cancelLink(bridge, status.linkId);
    finished.current = false;
    setJoined(null);
    setError(null);
  };

  if (status) {
    return (
      <div className="stack" role="group" aria-label="Link to an existing device" data-testid="link-join" data-state={status.state}>
        {status.state === 'receiving' && status.code && (
          <>
            <p role="status">
              Check that your other device shows{' '}
              <strong className="mono" data-testid="join-code" style={{ fontSize: '1.6em', letterSpacing: '0.08em' }}>
                {spacedCode(status.code)}
              </strong>{' '}
              and answer there. If it shows other digits, say no there: someone else answered its code.
            </p>
            {status.chunks && <LinkProgress status={status} step="Receiving" />}
          </>
        )}
        {(status.state === 'received' || finishing) && <LinkProgress status={status} step={finishing ?? 'Checking what arrived'} />}
        <ErrorText message={status.state === 'failed' ? status.error : error} />
        {(status.state === 'failed' || error) && (
          <div className="button-row">
            <button type="button" onClick={startOver}>
              Start again
            </button>
          </div>
        )}
        {status.state === 'receiving' && (
          <div className="button-row">
            <button type="button" onClick={startOver}>
              Cancel
            </button>
          </div>
        )}
      </div>
    );
  }

  return (
    <form className="stack" onSubmit={submit} aria-label="Link to an existing device">
      <p className="hint">
        On the device that already has the identity, open Settings, find “Devices of” and its name, and choose “Link a new device”. Then scan or paste
        the code it shows.
      </p>
      <label htmlFor={`${formId}-code`}>Link code</label>
      <textarea
        id={`${formId}-code`}
        className="mono"
        rows={4}
        value={linkString}
        onChange={(e) => setLinkString(e.target.value)}
        placeholder="DEADDROP-LINK…"
        spellCheck={false}
        autoComplete="off"
      />
      {canScan && !scanning && (
        <div className="button-row">
          <button type="button" onClick={() => setScanning(true)}>
            Scan the QR code
          </button>
        </div>
      )}
      {scanning && (
        <CameraScanner
          onText={(text) => {
            setLinkString(text);
            setScanning(false);
          }}
          onClose={() => setScanning(false)}
        />
      )}
      <label htmlFor={`${formId}-name`}>Name of this device</label>
      <input id={`${formId}-name`} value={deviceName} onChange={(e) => setDeviceName(e.target.value)} maxLength={32} autoComplete="off" />
      <p className="hint">How your other devices list this one.</p>
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={busy || linkString.trim() === '' || deviceName.trim() === ''}>
        {busy ? 'Connecting…' : 'Link this device'}
      </button>
    </form>
  );
}

/** A first guess at a name the user recognises: the kind of computer, when the browser says. */
function defaultDeviceName(): string {
  const platform = navigator.platform.toLowerCase();
  if (platform.includes('mac')) return 'Mac';
  if (platform.includes('win')) return 'Windows PC';
  if (platform.includes('linux')) return 'Linux PC';
  return 'New device';
}
