import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { type IdentitySummary, MAX_DROPS_PER_IDENTITY, type ServerStatus } from '../../../shared/ipc/contract.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { checkServerUrl, sameServer, serverOfDrop, shortDropId } from './dropUrls.js';
import { ErrorText } from '../components/ErrorText.js';
import { adoptChange, toldText } from '../identities/tellContacts.js';

/** The engine refuses more; the UI says so before the user tries. */

/** The active identity's drops: where contacts write to it. Add one on another server, or stop using one. */
export function DropsPanel() {
  const identity = useActiveIdentity();
  const servers = useSession((s) => s.serverStatus);
  const [removing, setRemoving] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const toggles = useRef(new Map<string, HTMLButtonElement>());

  // Keyboard users keep their place: back to the row's button when kept, to the heading when the row is gone.
  const closeConfirmation = (dropUrl: string, removed: boolean) => {
    setRemoving(null);
    if (removed) headingRef.current?.focus();
    else toggles.current.get(dropUrl)?.focus();
  };

  const escapeCloses = (event: KeyboardEvent, dropUrl: string) => {
    if (event.key === 'Escape' && removing === dropUrl) closeConfirmation(dropUrl, false);
  };

  if (!identity) return null;
  return (
    <section className="stack" aria-labelledby="drops-title">
      <h2 id="drops-title" ref={headingRef} tabIndex={-1}>Drops of {identity.alias}</h2>
      <p className="hint">
        Contacts write to the drops on your contact card, trying the next one when a server cannot be reached. A drop on a second server keeps messages arriving while one server is down.
      </p>
      <ul className="drop-list" aria-label={`Drops of ${identity.alias}`}>
        {identity.dropUrls.map((dropUrl) => (
          <li key={dropUrl} className="drop-row" data-testid="drop-row" onKeyDown={(e) => escapeCloses(e, dropUrl)}>
            <div className="drop-main">
              <div className="drop-address">
                <span className="mono drop-server">{serverOfDrop(dropUrl)}</span>
                <span className="hint">
                  Drop <span className="mono">{shortDropId(dropUrl)}</span>
                </span>
              </div>
              <DropStatus status={servers.find((s) => sameServer(s.serverUrl, serverOfDrop(dropUrl)))} />
              <button
                type="button"
                className="danger ghost"
                ref={(button) => {
                  if (button) toggles.current.set(dropUrl, button);
                  else toggles.current.delete(dropUrl);
                }}
                aria-expanded={removing === dropUrl}
                aria-label={`Remove the drop on ${serverOfDrop(dropUrl)} (${shortDropId(dropUrl)})`}
                onClick={() => setRemoving((current) => (current === dropUrl ? null : dropUrl))}
              >
                Remove…
              </button>
            </div>
            {removing === dropUrl && <RemoveDrop identity={identity} dropUrl={dropUrl} onDone={(removed) => closeConfirmation(dropUrl, removed)} />}
          </li>
        ))}
      </ul>
      <AddDropForm identity={identity} />
    </section>
  );
}

function DropStatus({ status }: { status: ServerStatus | undefined }) {
  const [text, tone] =
    !status || status.reachable === null ? ['Not checked yet', 'unknown'] : status.reachable ? ['Reachable', 'ok'] : ['Unreachable', 'bad'];
  return (
    <span className={`drop-status drop-status-${tone}`} title={status?.lastError ?? undefined}>
      {text}
      {status?.pushConnected && <span className="hint"> · push</span>}
    </span>
  );
}

function AddDropForm({ identity }: { identity: IdentitySummary }) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [serverUrl, setServerUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const full = identity.dropUrls.length >= MAX_DROPS_PER_IDENTITY;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || full) return;
    const checked = checkServerUrl(serverUrl);
    if (!checked.ok) return setError(checked.message);
    setBusy(true);
    const result = await bridge.invoke('identities/addDrop', { identityId: identity.id, serverUrl: checked.url });
    setBusy(false);
    if (!result.ok) return setError(result.error.message);
    setError(null);
    setServerUrl('');
    // Contacts using Deaddrop hear of it now (a contact update); others need the new card.
    const told = await adoptChange(identity, result.value);
    useUi.getState().notify('info', `Drop added. Give your contacts your new contact card so they write to it too.${toldText(told)}`);
  };

  return (
    <form className="stack add-drop" onSubmit={submit} noValidate aria-labelledby={`${formId}-title`}>
      <h3 id={`${formId}-title`}>Add a drop</h3>
      <label htmlFor={`${formId}-server`}>Drop server for the new drop</label>
      <div className="inline-row">
        <input
          id={`${formId}-server`}
          type="url"
          placeholder="https://drop.example.org"
          value={serverUrl}
          onChange={(e) => setServerUrl(e.target.value)}
          aria-invalid={error !== null}
          aria-describedby={`${formId}-help${error ? ` ${formId}-error` : ''}`}
          disabled={full}
        />
        <button type="submit" className="primary" disabled={busy || full}>
          {busy ? 'Adding…' : 'Add drop'}
        </button>
      </div>
      <p id={`${formId}-help`} className="hint">
        {full
          ? `${identity.alias} already has ${MAX_DROPS_PER_IDENTITY} drops, the most an identity can have. Remove one to add another.`
          : 'The new drop gets a fresh random ID, shared with as many strangers as your existing drops.'}
      </p>
      {error && (
        <p id={`${formId}-error`} className="error-text" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function RemoveDrop({ identity, dropUrl, onDone }: { identity: IdentitySummary; dropUrl: string; onDone: (removed: boolean) => void }) {
  const bridge = useSession((s) => s.bridge);
  const [error, setError] = useState<string | null>(null);
  const last = identity.dropUrls.length === 1;
  const groupRef = useRef<HTMLDivElement>(null);

  // The question may open near the bottom of the window: bring it fully into view.
  useEffect(() => {
    // A block body: newer browsers return a promise from scrollIntoView, which must not become the cleanup.
    void groupRef.current?.scrollIntoView({ block: 'nearest' });
  }, []);

  const remove = async () => {
    if (!bridge) return;
    const result = await bridge.invoke('identities/removeDrop', { identityId: identity.id, dropUrl });
    if (!result.ok) return setError(result.error.message);
    const told = await adoptChange(identity, result.value);
    useUi.getState().notify('info', `Drop removed. Send your contacts your new contact card.${toldText(told)}`);
    onDone(true);
  };

  return (
    <div className="danger-zone" role="group" aria-label="Remove this drop" ref={groupRef}>
      {last ? (
        <p>This is the only drop of {identity.alias}. Without it nobody could write to you: add another drop first, then remove this one.</p>
      ) : (
        <p>
          Stop fetching messages from this drop? Contacts who have your old contact card keep writing here and their messages
          will not reach you. Send them your new contact card (Contacts → My contact card) first.
        </p>
      )}
      <ErrorText message={error} />
      <div className="button-row">
        <button type="button" className="danger" onClick={() => void remove()} disabled={last}>
          Remove drop
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Keep it
        </button>
      </div>
    </div>
  );
}
