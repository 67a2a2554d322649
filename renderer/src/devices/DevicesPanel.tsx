import QRCode from 'qrcode';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { DeviceInfo, DeviceLinkStatus, DeviceListStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import { ErrorText } from '../components/ErrorText.js';
import { database } from '../db/database.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { cancelLink, offerLink, spacedCode, useLinkStatus } from './deviceLinkTransfer.js';
import { tellContactsOfDevices } from './tellContacts.js';
import { tellAllSettings } from './syncSettings.js';
import { joinNoticeText } from './joinNotice.js';
import { CatchUpPanel } from './CatchUpPanel.js';
import { RotateIdentityKey } from './RotateIdentityKey.js';
import { AlarmText, useDeviceList } from './DevicesPanelAlarm.js';

const DAY_MS = 86_400_000;

/**
 * Settings → Devices: the devices that hold the active identity (names editable, when each was last
 * heard from, any other one removable after a confirmation), what to do when a contact sends to a
 * device nobody here added (the alarm), and "Link a new device": a QR code for the other device, the
 * six digits both must show, then the identity with its contacts and history goes over in chunks.
 */
export function DevicesPanel() {
  const identity = useActiveIdentity();
  const bridge = useSession((s) => s.bridge);
  const { list, error, refresh, set: setList } = useDeviceList(identity?.id ?? null);
  const [linking, setLinking] = useState(false);

  if (!identity) return null;
  return (
    <section className="stack" aria-labelledby="devices-title" data-testid="devices-panel">
      <h2 id="devices-title">Devices of {identity.alias}</h2>
      <p className="hint">
        Every device here holds this identity’s key and reads its drops with its own place in them. None is the main one: any of
        them can link another.
      </p>
      <ErrorText message={error} />
      {list && list.removedAt !== null && (
        <p role="alert" data-testid="device-removed">
          This device was removed from {identity.alias} by another of its devices on{' '}
          {new Date(list.removedAt).toLocaleDateString('en', { dateStyle: 'medium' })}. It sends nothing more as {identity.alias}.
        </p>
      )}
      {list && list.alarms.length > 0 && <Alarms identity={identity} list={list} onChanged={setList} />}
      {list && (list.joined ?? []).length > 0 && <JoinedNotices identity={identity} list={list} onChanged={setList} />}
      {list && <DeviceList identity={identity} list={list} onChanged={setList} />}
      {list && <CatchUpPanel identity={identity} deviceCount={list.devices.length} />}
      {list && <RotateIdentityKey identity={identity} list={list} />}
      {list?.removedAt != null ? null : linking ? (
        <LinkNewDevice
          identity={identity}
          onClose={() => {
            setLinking(false);
            void refresh();
          }}
        />
      ) : (
        <div className="button-row">
          <button type="button" className="primary" onClick={() => setLinking(true)} disabled={!bridge}>
            Link a new device
          </button>
        </div>
      )}
    </section>
  );
}

/** What the alarm means and what to do: remove the device (contacts stop encrypting to it), then move to a new identity. */
function Alarms({ identity, list, onChanged }: { identity: IdentitySummary; list: DeviceListStatus; onChanged: (list: DeviceListStatus) => void }) {
  const bridge = useSession((s) => s.bridge);
  const [error, setError] = useState<string | null>(null);
  const unknown = [...new Set(list.alarms.flatMap((alarm) => alarm.unknownDevices))].filter((id) => !list.removed.includes(id));
  const dismiss = async () => {
    if (!bridge) return;
    const result = await bridge.invoke('devices/clearAlarms', { identityId: identity.id });
    if (result.ok) onChanged(result.value);
    else setError(result.error.message);
  };
  return (
    <div className="stack" role="alert" data-testid="device-alarm">
      {list.alarms.map((alarm) => (
        <AlarmText key={`${alarm.contact} ${alarm.unknownDevices.join(' ')}`} identity={identity} alarm={alarm} />
      ))}
      <p className="hint">
        None of these devices added it: whoever did holds this identity’s key and can read what is sent to it. Remove the device below
        so that your contacts stop encrypting to it, then make a new identity and give your contacts its card in person: the stolen key
        stays valid for the thief until your contacts stop using it.
      </p>
      {unknown.map((deviceId) => (
        <RemoveDevice key={deviceId} identity={identity} device={{ deviceId, name: `Unknown device ${deviceId.slice(0, 8)}` }} onChanged={onChanged} />
      ))}
      <ErrorText message={error} />
      <div className="button-row">
        <button type="button" onClick={() => void dismiss()}>
          Dismiss the alarm
        </button>
      </div>
    </div>
  );
}

function DeviceList({ identity, list, onChanged }: { identity: IdentitySummary; list: DeviceListStatus; onChanged: (list: DeviceListStatus) => void }) {
  const joined = new Set((list.joined ?? []).map((notice) => notice.deviceId));
  return (
    <ul className="drop-list" aria-label={`Devices of ${identity.alias}`}>
      {list.devices.map((device) => (
        <li key={device.deviceId} className="drop-row" data-testid="device-row">
          <div className="drop-main">
            <div className="drop-address">
              <span>
                <strong>{device.name}</strong> {device.self && <span className="tag">This device</span>}
                {joined.has(device.deviceId) && (
                  <span className="tag warning" data-testid="device-new">
                    New
                  </span>
                )}
              </span>
              <span className="hint">
                Added {new Date(device.addedDay * DAY_MS).toLocaleDateString('en', { timeZone: 'UTC', dateStyle: 'medium' })}
                {!device.self && ` · ${lastSeenText(device)}`}
              </span>
            </div>
          </div>
          <RenameDevice identity={identity} deviceId={device.deviceId} name={device.name} self={device.self} onChanged={onChanged} />
          {!device.self && list.removedAt === null && <RemoveDevice identity={identity} device={device} onChanged={onChanged} />}
        </li>
      ))}
    </ul>
  );
}

/**
 * Devices that joined through another device and that the user has not confirmed: what happened, and
 * either "It was me" (no longer marked new) or Remove (then replace the identity key: whoever added it
 * holds the key).
 */
function JoinedNotices({ identity, list, onChanged }: { identity: IdentitySummary; list: DeviceListStatus; onChanged: (list: DeviceListStatus) => void }) {
  const bridge = useSession((s) => s.bridge);
  const [error, setError] = useState<string | null>(null);
  const confirm = async (deviceId: string) => {
    if (!bridge) return;
    const result = await bridge.invoke('devices/confirmJoined', { identityId: identity.id, deviceId });
    if (result.ok) onChanged(result.value);
    else setError(result.error.message);
  };
  return (
    <div className="stack" role="alert" data-testid="device-joined">
      {(list.joined ?? []).map((notice) => (
        <div key={notice.deviceId} className="stack">
          <p>{joinNoticeText(notice, identity.alias)}</p>
          <div className="button-row">
            <button type="button" onClick={() => void confirm(notice.deviceId)}>
              It was me
            </button>
            <RemoveDevice identity={identity} device={notice} onChanged={onChanged} />
          </div>
        </div>
      ))}
      <ErrorText message={error} />
    </div>
  );
}

/** When another device was last heard from here (its list, its sync messages). */
export function lastSeenText(device: Pick<DeviceInfo, 'lastSeen'>): string {
  if (device.lastSeen === null) return 'not heard from here yet';
  return `last seen ${new Date(device.lastSeen).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' })}`;
}

/** "Remove", then a confirmation naming what happens: a new list without it, told to every contact and device. */
function RemoveDevice({ identity, device, onChanged }: { identity: IdentitySummary; device: Pick<DeviceInfo, 'deviceId' | 'name'>; onChanged: (list: DeviceListStatus) => void }) {
  const bridge = useSession((s) => s.bridge);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    if (!bridge || busy) return;
    setBusy(true);
    setError(null);
    const result = await bridge.invoke('devices/remove', { identityId: identity.id, deviceId: device.deviceId });
    setBusy(false);
    if (result.ok) {
      setAsking(false);
      onChanged(result.value);
    } else setError(result.error.message);
  };
  if (!asking) {
    return (
      <button type="button" className="danger" onClick={() => setAsking(true)} aria-label={`Remove ${device.name}`}>
        Remove
      </button>
    );
  }
  return (
    <div className="stack" role="alertdialog" aria-label={`Remove ${device.name}?`} data-testid="remove-device-confirm">
      <p>
        Remove <strong>{device.name}</strong> from {identity.alias}? Your contacts and your other devices are told; it stops sending as{' '}
        {identity.alias} once it reads that. It still holds the identity’s key: if it was lost or stolen, move to a new identity too.
      </p>
      <ErrorText message={error} />
      <div className="button-row">
        <button type="button" className="danger" disabled={busy} onClick={() => void remove()}>
          {busy ? 'Removing…' : 'Remove it'}
        </button>
        <button type="button" disabled={busy} onClick={() => setAsking(false)}>
          Keep it
        </button>
      </div>
    </div>
  );
}

function RenameDevice({
  identity,
  deviceId,
  name,
  self,
  onChanged,
}: {
  identity: IdentitySummary;
  deviceId: string;
  name: string;
  self: boolean;
  onChanged: (list: DeviceListStatus) => void;
}) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [value, setValue] = useState(name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const clean = value.trim();
  useEffect(() => setValue(name), [name]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || busy || clean === '' || clean === name) return;
    setBusy(true);
    setError(null);
    const result = await bridge.invoke('devices/rename', { identityId: identity.id, deviceId, name: clean });
    setBusy(false);
    if (result.ok) onChanged(result.value);
    else setError(result.error.message);
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label={self ? 'Name of this device' : `Name of ${name}`}>
      <label htmlFor={`${formId}-name`}>{self ? 'This device’s name' : 'Name'}</label>
      <input id={`${formId}-name`} value={value} onChange={(e) => setValue(e.target.value)} maxLength={32} autoComplete="off" />
      <button type="submit" disabled={busy || clean === '' || clean === name}>
        {busy ? 'Saving…' : 'Rename'}
      </button>
      <ErrorText message={error} />
    </form>
  );
}

/** The offering side of a link, from the QR code to "done". */
function LinkNewDevice({ identity, onClose }: { identity: IdentitySummary; onClose: () => void }) {
  const bridge = useSession((s) => s.bridge);
  const [includeHistory, setIncludeHistory] = useState(true);
  const [started, setStarted] = useState<{ status: DeviceLinkStatus; linkString: string; handedOver: Promise<void> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [answering, setAnswering] = useState(false);
  const status = useLinkStatus(bridge, started?.status ?? null);
  const [told, setTold] = useState<{ told: number; error: string | null } | null>(null);
  const doneLink = status?.state === 'done' ? status.linkId : null;
  const toldFor = useRef<string | null>(null);

  // Once the other device holds the identity, contacts hear at once that it is on several devices
  // (once per link, whatever re-renders the panel).
  useEffect(() => {
    if (!doneLink || !bridge || toldFor.current === doneLink) return;
    toldFor.current = doneLink;
    void tellContactsOfDevices(database(), bridge, identity)
      .then(setTold)
      .catch((err: unknown) => setTold({ told: 0, error: err instanceof Error ? err.message : 'the engine refused it' }));
    // The new device hears every synced setting of this one (what a notification shows, the image limit…).
    void tellAllSettings(database(), identity.id, bridge);
  }, [doneLink, bridge, identity]);

  const start = async () => {
    if (!bridge) return;
    setError(null);
    try {
      setStarted(await offerLink(bridge, database(), identity, includeHistory));
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The link could not be started.');
    }
  };

  const answer = async (matches: boolean) => {
    if (!bridge || !started || answering) return;
    setAnswering(true);
    setError(null);
    try {
      if (matches) await started.handedOver;
      const result = await bridge.invoke('devices/linkConfirm', { linkId: started.status.linkId, matches });
      if (!result.ok) setError(result.error.message);
    } catch (err) {
      cancelLink(bridge, started.status.linkId);
      setError(err instanceof Error ? `Your contacts and messages could not be handed over: ${err.message}` : 'The link stopped.');
    } finally {
      setAnswering(false);
    }
  };

  const close = () => {
    if (bridge && status && !['done', 'failed'].includes(status.state)) cancelLink(bridge, status.linkId);
    onClose();
  };

  if (!started || !status) {
    return (
      <div className="stack" role="group" aria-label="Link a new device">
        <p className="hint">
          On the other device, choose “Link to an existing device” and scan or paste the code this one shows next. It gets this
          identity’s key, drops, contacts and settings.
        </p>
        <label className="choice">
          <input type="checkbox" checked={includeHistory} onChange={(e) => setIncludeHistory(e.target.checked)} />
          <span>Include message history</span>
        </label>
        <ErrorText message={error} />
        <div className="button-row">
          <button type="button" className="primary" onClick={() => void start()}>
            Show the link code
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    );
  }

  return (
    <div className="stack" role="group" aria-label="Link a new device" data-testid="link-offer" data-state={status.state}>
      {status.state === 'waiting' && <LinkCode linkString={started.linkString} />}
      {status.state === 'compare' && status.code && (
        <div className="stack" role="alert">
          <p>
            <strong>{status.deviceName ?? 'A device'}</strong> answered. Does your other device show{' '}
            <strong className="mono" data-testid="link-code" style={{ fontSize: '1.6em', letterSpacing: '0.08em' }}>
              {spacedCode(status.code)}
            </strong>
            ?
          </p>
          <p className="hint">Only say yes if the digits are the same on both screens: otherwise someone else answered this code.</p>
          <div className="button-row">
            <button type="button" className="primary" disabled={answering} onClick={() => void answer(true)}>
              Yes, the same
            </button>
            <button type="button" className="danger" disabled={answering} onClick={() => void answer(false)}>
              No, different
            </button>
          </div>
        </div>
      )}
      {(status.state === 'sending' || status.state === 'sent') && (
        <LinkProgress status={status} step={status.state === 'sent' ? 'Sent; waiting for the other device to check it' : 'Sending to the other device'} />
      )}
      {status.state === 'done' && (
        <p role="status" data-testid="link-done">
          {status.deviceName ?? 'The other device'} now holds {identity.alias}.
          {told && told.told > 0 && (told.told === 1 ? ' 1 contact was told.' : ` ${told.told} contacts were told.`)}
        </p>
      )}
      <ErrorText message={status.state === 'failed' ? status.error : (error ?? (told?.error ? `Some contacts could not be told: ${told.error}` : null))} />
      <div className="button-row">
        <button type="button" onClick={close}>
          {status.state === 'done' || status.state === 'failed' ? 'Close' : 'Cancel'}
        </button>
      </div>
    </div>
  );
}

/** The link string as a QR code and as copyable text. */
function LinkCode({ linkString }: { linkString: string }) {
  const [qr, setQr] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    let live = true;
    void QRCode.toDataURL(linkString, { errorCorrectionLevel: 'M', margin: 2, width: 320 }).then((dataUrl) => {
      if (live) setQr(dataUrl);
    });
    return () => {
      live = false;
    };
  }, [linkString]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(linkString);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  return (
    <div className="stack">
      <p>Scan this code with the other device, or copy the text to it. Waiting for it to answer…</p>
      {qr && <img className="qr" src={qr} alt="QR code to link a new device" width={320} height={320} data-testid="link-qr" />}
      <pre className="mono contact-text" data-testid="link-text" aria-label="Link code as text">
        {linkString}
      </pre>
      <div className="button-row">
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy the text'}
        </button>
      </div>
      <p className="hint">Keep it to yourself: it works for 10 minutes, once, and only after you compare six digits on both screens.</p>
    </div>
  );
}

/** Chunks of the identity going over (either side). */
export function LinkProgress({ status, step }: { status: DeviceLinkStatus; step: string }) {
  const chunks = status.chunks;
  return (
    <div className="stack" role="status" aria-live="polite">
      <progress aria-label="Link progress" max={chunks?.total ?? 1} {...(chunks ? { value: chunks.done } : {})} />
      <p className="hint">
        {step}
        {chunks ? ` (${chunks.done} of ${chunks.total} pieces)` : ''}…
      </p>
    </div>
  );
}
