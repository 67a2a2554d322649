import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { type IdentitySummary, MAX_DROPS_PER_IDENTITY, type ServerStatus } from '../../../shared/ipc/contract.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { checkServerUrl, sameServer, serverOfDrop, shortDropId } from './dropUrls.js';
import { ErrorText } from '../components/ErrorText.js';
import { adoptChange, toldText } from '../identities/tellContacts.js';
import { announceMove, confirmedMoves, reportConfirmedMoves, sendAddressUpdate, stillRetiring, unconfirmedContacts } from '../identities/dropMigration.js';
import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { formatMessageTime } from '../chat/formatTime.js';

/** The engine refuses more; the UI says so before the user tries. */

/** The active identity's drops: where contacts write to it. Add one on another server, or stop using one. */
export function DropsPanel() {
  const identity = useActiveIdentity();
  const servers = useSession((s) => s.serverStatus);
  const [open, setOpen] = useState<OpenQuestion | null>(null);
  const [moveProgress, setMoveProgress] = useState<MoveProgress | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const toggles = useRef(new Map<string, HTMLButtonElement>());
  const removing = open?.action === 'remove' ? open.dropUrl : null;
  const moving = open?.action === 'move' ? open.dropUrl : null;

  // Keyboard users keep their place: back to the row's button when kept, to the heading when the row is gone.
  const closeQuestion = (question: OpenQuestion, gone: boolean) => {
    setOpen(null);
    if (gone) headingRef.current?.focus();
    else toggles.current.get(`${question.action} ${question.dropUrl}`)?.focus();
  };

  const escapeCloses = (event: KeyboardEvent, dropUrl: string) => {
    if (event.key === 'Escape' && open?.dropUrl === dropUrl) closeQuestion(open, false);
  };
  const toggle = (question: OpenQuestion) =>
    setOpen((current) => (current?.dropUrl === question.dropUrl && current.action === question.action ? null : question));
  const keepToggle = (key: string) => (button: HTMLButtonElement | null) => {
    if (button) toggles.current.set(key, button);
    else toggles.current.delete(key);
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
                className="ghost"
                ref={keepToggle(`move ${dropUrl}`)}
                aria-expanded={moving === dropUrl}
                aria-label={`Move the drop on ${serverOfDrop(dropUrl)} (${shortDropId(dropUrl)}) to a new drop`}
                onClick={() => toggle({ dropUrl, action: 'move' })}
              >
                Move to a new drop…
              </button>
              <button
                type="button"
                className="danger ghost"
                ref={keepToggle(`remove ${dropUrl}`)}
                aria-expanded={removing === dropUrl}
                aria-label={`Remove the drop on ${serverOfDrop(dropUrl)} (${shortDropId(dropUrl)})`}
                onClick={() => toggle({ dropUrl, action: 'remove' })}
              >
                Remove…
              </button>
            </div>
            {removing === dropUrl && <RemoveDrop identity={identity} dropUrl={dropUrl} onDone={(removed) => closeQuestion({ dropUrl, action: 'remove' }, removed)} />}
            {moving === dropUrl && (
              <MoveDrop
                identity={identity}
                dropUrl={dropUrl}
                onProgress={setMoveProgress}
                onDone={(moved) => closeQuestion({ dropUrl, action: 'move' }, moved)}
              />
            )}
          </li>
        ))}
      </ul>
      {moveProgress && <MoveProgressLine progress={moveProgress} />}
      <RetiringDrops identity={identity} />
      <UnconfirmedContacts identity={identity} />
      <AddDropForm identity={identity} />
    </section>
  );
}

/** The question open under a drop's row: remove it, or move to a new drop. */
interface OpenQuestion {
  dropUrl: string;
  action: 'remove' | 'move';
}

/** How far telling the contacts of a move got. */
interface MoveProgress {
  told: number;
  total: number;
  done: boolean;
  failed: number;
}

function MoveProgressLine({ progress }: { progress: MoveProgress }) {
  const { told, total, done, failed } = progress;
  const counted = `Told ${told} of ${total} ${total === 1 ? 'contact' : 'contacts'}`;
  return (
    <p className="hint" role="status" data-testid="move-progress">
      {total === 0
        ? 'Moved. No contact to tell: those who write to you later need your new contact card.'
        : done
          ? `${counted}.${failed > 0 ? ` ${failed} could not be told now: send again below.` : ''} The old drop is still read while it retires.`
          : `${counted}…`}
    </p>
  );
}

/**
 * Moving off a drop in one step: a new drop on a chosen server (one of this identity's or another),
 * read from the start, the old one read on until it retires, and every contact told, asking for a
 * receipt so the ones who have not confirmed can be listed.
 */
function MoveDrop({
  identity,
  dropUrl,
  onProgress,
  onDone,
}: {
  identity: IdentitySummary;
  dropUrl: string;
  onProgress: (progress: MoveProgress) => void;
  onDone: (moved: boolean) => void;
}) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const groupRef = useRef<HTMLFormElement>(null);
  const ownServers = [...new Set(identity.dropUrls.map(serverOfDrop))];
  const [choice, setChoice] = useState<string>(serverOfDrop(dropUrl));
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void groupRef.current?.scrollIntoView({ block: 'nearest' });
  }, []);

  const move = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge) return;
    let serverUrl = choice;
    if (choice === OTHER_SERVER) {
      const checked = checkServerUrl(typed);
      if (!checked.ok) return setError(checked.message);
      serverUrl = checked.url;
    }
    setBusy(true);
    const result = await bridge.invoke('identities/moveDrop', { identityId: identity.id, fromDropUrl: dropUrl, serverUrl });
    if (!result.ok) {
      setBusy(false);
      return setError(result.error.message);
    }
    const session = useSession.getState();
    session.setIdentities((session.identities ?? []).map((i) => (i.id === result.value.id ? result.value : i)));
    onDone(true);
    const outcome = await announceMove(database(), bridge, identity, result.value, (told, total) => onProgress({ told, total, done: false, failed: 0 }));
    onProgress({ told: outcome.told, total: outcome.total, done: true, failed: outcome.failed });
    if (outcome.failed > 0) useUi.getState().notify('error', `${outcome.failed === 1 ? '1 contact' : `${outcome.failed} contacts`} could not be told of the new drop: ${outcome.error ?? 'the engine refused it'}.`);
  };

  return (
    <form className="danger-zone stack" aria-label="Move to a new drop" ref={groupRef} onSubmit={move} noValidate>
      <p>
        A new drop is opened and read from now on; this one is still read for at least 30 days, so nothing your contacts send
        meanwhile is lost. Every contact is told the new address and asked to confirm it.
      </p>
      <fieldset>
        <legend>Server for the new drop</legend>
        {ownServers.map((server) => (
          <label key={server} className="choice">
            <input type="radio" name={`${formId}-server`} checked={choice === server} onChange={() => setChoice(server)} />
            <span className="mono">{server}</span>
          </label>
        ))}
        <label className="choice">
          <input type="radio" name={`${formId}-server`} checked={choice === OTHER_SERVER} onChange={() => setChoice(OTHER_SERVER)} />
          <span>Another server</span>
        </label>
        {choice === OTHER_SERVER && (
          <>
            <label htmlFor={`${formId}-other`}>Address of the other drop server</label>
            <input
              id={`${formId}-other`}
              type="url"
              placeholder="https://drop.example.org"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              aria-invalid={error !== null}
            />
          </>
        )}
      </fieldset>
      <ErrorText message={error} />
      <div className="button-row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Moving…' : 'Move and tell my contacts'}
        </button>
        <button type="button" onClick={() => onDone(false)} disabled={busy}>
          Keep it
        </button>
      </div>
    </form>
  );
}

/** The radio value of "Another server" (no server URL looks like this). */
const OTHER_SERVER = 'other';

/** Drops no longer on the card but still read, until they retire. */
function RetiringDrops({ identity }: { identity: IdentitySummary }) {
  const retiring = stillRetiring(identity);
  if (retiring.length === 0) return null;
  return (
    <>
      <h3 className="card-drops-title">Retiring drops</h3>
      <ul className="drop-list" aria-label={`Retiring drops of ${identity.alias}`}>
        {retiring.map((drop) => (
          <li key={drop.url} className="drop-row" data-testid="retiring-drop-row">
            <div className="drop-main">
              <div className="drop-address">
                <span className="mono drop-server">{serverOfDrop(drop.url)}</span>
                <span className="hint">
                  Drop <span className="mono">{shortDropId(drop.url)}</span>
                </span>
              </div>
              <span className="drop-status drop-status-unknown">
                Retiring: still read until {new Date(drop.retireAt).toLocaleDateString()}
                {drop.dailyFrom !== null && drop.dailyFrom <= Date.now() ? ' (once a day)' : ''}
              </span>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

/** Contacts whose receipt for our newest address has not arrived, each with "Send again". */
function UnconfirmedContacts({ identity }: { identity: IdentitySummary }) {
  const bridge = useSession((s) => s.bridge);
  const unconfirmed = useLiveQuery(() => unconfirmedContacts(database(), identity.id), [identity.id], [] as ContactRecord[]);
  const [sending, setSending] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useMoveConfirmation(identity);
  if (unconfirmed.length === 0) return null;

  const sendAgain = async (contact: ContactRecord) => {
    if (!bridge) return;
    setSending(contact.publicKey);
    const sent = await sendAddressUpdate(database(), bridge, identity.id, contact);
    setSending(null);
    setError(sent.ok ? null : sent.error);
    if (sent.ok) useUi.getState().notify('info', `Your address was sent to ${contact.alias} again.`);
  };

  return (
    <section aria-labelledby={`unconfirmed-${identity.id}`}>
      <h3 id={`unconfirmed-${identity.id}`} className="card-drops-title">
        Contacts who have not confirmed your new address
      </h3>
      <p className="hint">
        Their app has not acknowledged your newest drop list yet: they may be offline. Each is sent it again when they write to a
        retiring drop.
      </p>
      <ErrorText message={error} />
      <ul className="plain-list" data-testid="unconfirmed-contacts">
        {unconfirmed.map((contact) => (
          <li key={contact.publicKey} className="inline-row" data-testid="unconfirmed-contact">
            <span>{contact.alias}</span>
            <span className="hint">sent {formatMessageTime(contact.ownUpdate!.sent)}</span>
            <button
              type="button"
              className="small"
              disabled={sending === contact.publicKey}
              onClick={() => void sendAgain(contact)}
              aria-label={`Send ${contact.alias} your address again`}
            >
              Send again
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * Once the list above is empty for a move (every contact confirmed the new address), the engine is told
 * (`identities/moveConfirmed`) so it reads the old drop only once a day; each move is told once.
 */
function useMoveConfirmation(identity: IdentitySummary) {
  const bridge = useSession((s) => s.bridge);
  // A string, so the effect below runs when the set of confirmed moves changes, not on every answer.
  const confirmed = useLiveQuery(async () => (await confirmedMoves(database(), identity)).join('\n'), [identity], '');
  useEffect(() => {
    if (!bridge || confirmed === '') return;
    void reportConfirmedMoves(database(), bridge, identity).then((updated) => {
      if (!updated) return;
      const session = useSession.getState();
      session.setIdentities((session.identities ?? []).map((i) => (i.id === updated.id ? updated : i)));
    });
    // The identity is read as it is when the set changes; its own changes come back through this query.
  }, [bridge, confirmed]);
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
    useUi.getState().notify('info', `Drop added.${toldText(told)}`);
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
    useUi.getState().notify('info', `Drop removed.${toldText(told)}`);
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
