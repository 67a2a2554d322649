import { type FormEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { EncryptedFileRef, IdentitySummary } from '../../../shared/ipc/contract.js';
import type { ShareListingFile } from '../../../shared/modules/shareListing.js';
import type { EngineBridge } from '../bridge/transport.js';
import { ErrorText } from '../components/ErrorText.js';
import { KeyAvatar } from '../components/KeyAvatar.js';
import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { isAccepted } from '../db/senderBounds.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { formatBytes, formatProgress } from '../files/formatBytes.js';
import { cancelDownload, saveDownloadedFile, saveDownloadedFileAs, startDownload } from '../files/receiveFile.js';
import { useTransfers } from '../files/transfers.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { type ShareRecord, type ShareSendRecord, changesText, listingDownloadFailure } from './shareRecords.js';
import {
  type ShareEntry, announceShare, createShare, entriesOf, listShares, removeShare, retryListing, shareFileDownloadId, updateShare,
} from './shares.js';
import './shares.css';

/**
 * Shared folders: named sets of files an identity shares with chosen contacts ("Shared by me": create,
 * change, remove, with each recipient's progress), and the folders contacts share with it ("Shared
 * with me": what the latest revision changed, its files to download and save).
 */
export function SharesScreen({ identity }: { identity: IdentitySummary }) {
  const db = database();
  const bridge = useSession((s) => s.bridge);
  const shares = useLiveQuery(() => listShares(db, identity.id), [identity.id], null as ShareRecord[] | null);
  const contacts = useLiveQuery(
    async () => new Map((await db.contacts.where('identityId').equals(identity.id).toArray()).map((c) => [c.publicKey, c])),
    [identity.id],
    new Map<string, ContactRecord>(),
  );
  const own = (shares ?? []).filter((s) => s.direction === 'out');
  // Like posts: a contact ignored or blocked since keeps their shares stored, unlisted.
  const received = (shares ?? []).filter((s) => {
    const owner = s.direction === 'in' ? contacts.get(s.ownerKey) : undefined;
    return owner !== undefined && isAccepted(owner.status);
  });
  // Listings are fetched, and our announcements followed, by ShareSync (app/Shell.tsx) whichever view is open.

  return (
    <div className="page">
      <h1>Shares</h1>
      <p className="hint">
        A shared folder is a set of files your chosen contacts can download. The files are encrypted on your drop server; each change
        reaches them as a new revision.
      </p>
      <section aria-labelledby="shared-by-me">
        <h2 id="shared-by-me">Shared by me</h2>
        {bridge && <NewShareForm key={identity.id} identity={identity} bridge={bridge} />}
        {shares && own.length === 0 && <p className="hint">You share no folders yet.</p>}
        <ul className="plain-list" aria-label="Shared by me">
          {own.map((share) => (
            <OwnShare key={share.id} share={share} contacts={contacts} bridge={bridge} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="shared-with-me">
        <h2 id="shared-with-me">Shared with me</h2>
        {shares && received.length === 0 && <p className="hint">No contact shares a folder with {identity.alias} yet.</p>}
        <ul className="plain-list" aria-label="Shared with me">
          {received.map((share) => (
            <ReceivedShare key={share.id} share={share} owner={contacts.get(share.ownerKey)!} bridge={bridge} />
          ))}
        </ul>
      </section>
    </div>
  );
}

/** Accepted and verified contacts of the identity that have a drop to write to, by name. */
function useRecipients(identityId: string): ContactRecord[] {
  const db = database();
  return useLiveQuery(
    async () => {
      const list = await db.contacts
        .where('[identityId+status]')
        .anyOf([
          [identityId, 'accepted'],
          [identityId, 'verified'],
        ])
        .toArray();
      return list.filter((c) => c.dropUrls.length > 0).sort((a, b) => a.alias.localeCompare(b.alias));
    },
    [identityId],
    [] as ContactRecord[],
  );
}

/** "Uploading… 1.2 MB of 3 MB" with a bar, while a change's files go up. */
function UploadBar({ progress, label }: { progress: { done: number; total: number }; label: string }) {
  const total = Math.max(progress.total, 1);
  return (
    <div role="status" className="stack">
      <progress aria-label={label} max={total} value={Math.min(progress.done, total)} />
      <p className="hint">
        {label}… {formatProgress(progress.done, progress.total)}
      </p>
    </div>
  );
}

/** Two file inputs: files (several at once) and a whole folder. */
function FilePickers({ formId, onFiles, disabled, filesLabel }: { formId: string; onFiles: (files: File[]) => void; disabled: boolean; filesLabel: string }) {
  const folderRef = useRef<HTMLInputElement>(null);
  // `webkitdirectory` is not in React's attribute list: set on the element itself.
  useEffect(() => {
    folderRef.current?.setAttribute('webkitdirectory', '');
  }, []);
  const take = (input: HTMLInputElement) => {
    onFiles([...(input.files ?? [])]);
    input.value = '';
  };
  return (
    <div className="share-pickers">
      <label htmlFor={`${formId}-files`}>{filesLabel}</label>
      <input id={`${formId}-files`} type="file" multiple disabled={disabled} onChange={(e) => take(e.target)} data-testid="share-files" />
      <label htmlFor={`${formId}-folder`}>Or a whole folder</label>
      <input id={`${formId}-folder`} ref={folderRef} type="file" multiple disabled={disabled} onChange={(e) => take(e.target)} />
    </div>
  );
}

function NewShareForm({ identity, bridge }: { identity: IdentitySummary; bridge: EngineBridge }) {
  const db = database();
  const formId = useId();
  const contacts = useRecipients(identity.id);
  const [name, setName] = useState('');
  const [entries, setEntries] = useState<ShareEntry[]>([]);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = progress !== null;
  const recipients = contacts.filter((c) => chosen.has(c.publicKey));

  const addFiles = (files: File[]) => {
    setError(null);
    try {
      const added = entriesOf(files);
      // A file chosen again under the same path replaces the one chosen before.
      setEntries((current) => [...current.filter((e) => !added.some((a) => a.path === e.path)), ...added]);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'These files cannot be shared.');
    }
  };

  const toggle = (publicKey: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(publicKey);
    else next.delete(publicKey);
    setChosen(next);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setError(null);
    setProgress({ done: 0, total: 0 });
    try {
      await createShare(bridge, db, identity.id, name, entries, recipients, (done, total) => setProgress({ done, total }));
      useUi.getState().notify('info', `“${name.trim()}” is shared with ${recipients.length} ${recipients.length === 1 ? 'contact' : 'contacts'}.`);
      setName('');
      setEntries([]);
      setChosen(new Set());
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The folder could not be shared.');
    } finally {
      setProgress(null);
    }
  };

  return (
    <form className="panel stack share-new" onSubmit={submit} aria-labelledby={`${formId}-title`}>
      <h3 id={`${formId}-title`}>New shared folder</h3>
      <label htmlFor={`${formId}-name`}>Name of the shared folder</label>
      <input id={`${formId}-name`} value={name} maxLength={255} onChange={(e) => setName(e.target.value)} disabled={busy} />
      <FilePickers formId={formId} onFiles={addFiles} disabled={busy} filesLabel="Add files" />
      {entries.length > 0 && (
        <ul className="plain-list share-files" aria-label="Files to share">
          {entries.map((entry) => (
            <li key={entry.path} className="share-file">
              <span className="share-path">{entry.path}</span>
              <span className="hint">{formatBytes(entry.file.size)}</span>
              <button
                type="button"
                className="small"
                disabled={busy}
                aria-label={`Leave out ${entry.path}`}
                onClick={() => setEntries((current) => current.filter((e) => e !== entry))}
              >
                Leave out
              </button>
            </li>
          ))}
        </ul>
      )}
      {contacts.length === 0 ? (
        <p className="hint">{identity.alias} has no accepted contacts yet: add a contact to share with them.</p>
      ) : (
        <fieldset className="stack">
          <legend>Share with</legend>
          {contacts.map((c) => (
            <label key={c.publicKey} className="choice">
              <input type="checkbox" checked={chosen.has(c.publicKey)} disabled={busy} onChange={(e) => toggle(c.publicKey, e.target.checked)} />
              <span>{c.alias}</span>
            </label>
          ))}
        </fieldset>
      )}
      {progress && <UploadBar progress={progress} label="Uploading the files" />}
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={busy || name.trim() === '' || entries.length === 0 || recipients.length === 0}>
        {busy ? 'Sharing…' : 'Share'}
      </button>
    </form>
  );
}

const SEND_WORDS: Record<ShareSendRecord['status'], string> = {
  queued: 'waiting',
  sending: 'waiting',
  posted: 'posted',
  delivered: 'delivered',
  failed: 'failed',
  cancelled: 'cancelled',
};

function OwnShare({ share, contacts, bridge }: { share: ShareRecord; contacts: ReadonlyMap<string, ContactRecord>; bridge: EngineBridge | null }) {
  const db = database();
  const formId = useId();
  const [adds, setAdds] = useState<ShareEntry[]>([]);
  const [removals, setRemovals] = useState<ReadonlySet<string>>(new Set());
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const busy = progress !== null;
  const files = share.listing?.files ?? [];
  const sends = Object.entries(share.sends);
  const unfinished = sends.some(([, send]) => send.status === 'failed' || send.status === 'queued');

  const addFiles = (chosen: File[]) => {
    setError(null);
    try {
      const added = entriesOf(chosen);
      setAdds((current) => [...current.filter((e) => !added.some((a) => a.path === e.path)), ...added]);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'These files cannot be shared.');
    }
  };

  const toggleRemoval = (path: string) => {
    const next = new Set(removals);
    if (next.has(path)) next.delete(path);
    else next.add(path);
    setRemovals(next);
  };

  const save = async () => {
    if (!bridge || busy) return;
    setError(null);
    setProgress({ done: 0, total: 0 });
    try {
      await updateShare(bridge, db, share.id, { add: adds, remove: [...removals] }, (done, total) => setProgress({ done, total }));
      setAdds([]);
      setRemovals(new Set());
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The change could not be shared.');
    } finally {
      setProgress(null);
    }
  };

  const remove = async () => {
    if (!bridge) return;
    setError(null);
    setConfirmRemove(false);
    try {
      await removeShare(bridge, db, share.id);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The share could not be removed.');
    }
  };

  const title = `${formId}-title`;
  return (
    <li className="identity-row share" data-testid="own-share" aria-labelledby={title}>
      <h3 id={title} className="share-name">
        {share.name}
      </h3>
      <p className="hint" data-testid="share-revision">
        {share.removed ? `Removed (revision ${share.revision})` : `Revision ${share.revision}`} · {files.length} {files.length === 1 ? 'file' : 'files'}
      </p>
      <ul className="plain-list share-recipients" aria-label={`Recipients of ${share.name}`}>
        {sends.map(([key, send]) => (
          <li key={key} data-testid="share-recipient" data-status={send.status}>
            {contacts.get(key)?.alias ?? `Contact ${key.slice(0, 8)}`}: {SEND_WORDS[send.status]}
            {send.error && <span className="error-text"> ({send.error})</span>}
          </li>
        ))}
      </ul>
      {bridge && unfinished && (
        <button type="button" className="small" onClick={() => void announceShare(bridge, db, share.id)}>
          Send again
        </button>
      )}
      {!share.removed && (
        <>
          <ul className="plain-list share-files" aria-label={`Files of ${share.name}`}>
            {files.map((file) => (
              <li key={file.path} className="share-file" data-testid="share-file" data-removing={removals.has(file.path) || undefined}>
                <span className="share-path">{file.path}</span>
                <span className="hint">{formatBytes(file.ref.size)}</span>
                <button type="button" className="small" disabled={busy} aria-pressed={removals.has(file.path)} onClick={() => toggleRemoval(file.path)} aria-label={`Remove ${file.path}`}>
                  {removals.has(file.path) ? 'Keep' : 'Remove'}
                </button>
              </li>
            ))}
          </ul>
          <div className="stack">
            <FilePickers formId={formId} onFiles={addFiles} disabled={busy || !bridge} filesLabel="Add or replace files" />
            {adds.length > 0 && (
              <ul className="plain-list share-files" aria-label={`Files to add to ${share.name}`}>
                {adds.map((entry) => (
                  <li key={entry.path} className="share-file">
                    <span className="share-path">{entry.path}</span>
                    <span className="hint">
                      {formatBytes(entry.file.size)} · {files.some((f) => f.path === entry.path) ? 'replaces the file' : 'new'}
                    </span>
                  </li>
                ))}
              </ul>
            )}
            {progress && <UploadBar progress={progress} label="Uploading the changes" />}
            <ErrorText message={error} />
            <div className="button-row">
              <button type="button" className="primary" disabled={!bridge || busy || (adds.length === 0 && removals.size === 0)} onClick={() => void save()}>
                {busy ? 'Sharing the changes…' : 'Share the changes'}
              </button>
              {!confirmRemove ? (
                <button type="button" className="danger" disabled={!bridge || busy} onClick={() => setConfirmRemove(true)}>
                  Remove share
                </button>
              ) : (
                <span className="confirm" role="group" aria-label="Confirm removal">
                  Stop sharing “{share.name}” with everyone?{' '}
                  <button type="button" className="danger" onClick={() => void remove()}>
                    Remove for everyone
                  </button>{' '}
                  <button type="button" onClick={() => setConfirmRemove(false)}>
                    Keep sharing
                  </button>
                </span>
              )}
            </div>
          </div>
        </>
      )}
    </li>
  );
}

function ReceivedShare({ share, owner, bridge }: { share: ShareRecord; owner: ContactRecord; bridge: EngineBridge | null }) {
  const titleId = useId();
  const files = share.listing?.files ?? [];
  const changes = share.changes ? changesText(share.changes) : '';
  const failure = listingDownloadFailure(share);
  const waiting = !share.removed && share.listingRevision < share.revision && share.listingError === null;
  return (
    <li className="identity-row share" data-testid="received-share" aria-labelledby={titleId}>
      <div className="identity-main">
        <KeyAvatar publicKey={share.ownerKey} />
        <div>
          <h3 id={titleId} className="share-name">
            {share.name}
          </h3>
          <p className="hint" data-testid="share-revision">
            Shared by {owner.alias} · revision {share.revision}
          </p>
        </div>
      </div>
      {share.removed ? (
        <p data-testid="share-removed">Removed by {owner.alias}</p>
      ) : (
        <>
          {failure !== null ? (
            <div role="alert">
              <p className="error-text">The list of files could not be downloaded: {failure}</p>
              <button type="button" className="small" onClick={() => void retryListing(database(), share.id)}>
                Try again
              </button>
            </div>
          ) : (
            share.listingError !== null && (
              <p className="error-text" role="alert" data-testid="share-unreadable">
                This share’s listing cannot be read.
              </p>
            )
          )}
          {waiting && <p className="hint">Fetching the list of files…</p>}
          {changes && share.listingRevision > 1 && (
            <p data-testid="share-changes">{changes}</p>
          )}
          {share.listing && bridge && (
            <ul className="plain-list share-files" aria-label={`Files of ${share.name}`}>
              {files.map((file) => (
                <ReceivedFile key={file.path} share={share} file={file} bridge={bridge} />
              ))}
            </ul>
          )}
        </>
      )}
    </li>
  );
}

function ReceivedFile({ share, file, bridge }: { share: ShareRecord; file: ShareListingFile; bridge: EngineBridge }) {
  const [downloadId, setDownloadId] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void shareFileDownloadId(share, file.path).then((id) => live && setDownloadId(id));
    return () => {
      live = false;
    };
  }, [share, file.path]);
  const transfer = useTransfers((s) => (downloadId ? s.transfers[downloadId] : undefined));
  const fileDialogs = useCapability('fileDialogs');
  const [error, setError] = useState<string | null>(null);
  const ref: EncryptedFileRef = file.ref;
  const baseName = useMemo(() => file.path.split('/').pop() ?? file.path, [file.path]);
  const state = transfer?.state;

  const download = () => {
    if (!downloadId) return;
    setError(null);
    void startDownload(bridge, downloadId, ref);
  };
  const save = async (as: boolean) => {
    if (!downloadId) return;
    setError(null);
    try {
      if (as) await saveDownloadedFileAs(bridge, downloadId, ref, baseName);
      else await saveDownloadedFile(bridge, downloadId, ref, baseName);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The file could not be saved.');
    }
  };

  return (
    <li className="share-file" data-testid="share-file" data-state={state ?? 'none'}>
      <span className="share-path">{file.path}</span>
      <span className="hint">{formatBytes(file.ref.size)}</span>
      <span className="button-row">
        {(state === undefined || state === 'cancelled') && (
          <button type="button" className="small" disabled={!downloadId} onClick={download} aria-label={`Download ${file.path}`}>
            Download
          </button>
        )}
        {state === 'running' && (
          <>
            <progress aria-label={`Downloading ${file.path}`} max={Math.max(transfer!.total, 1)} value={Math.min(transfer!.done, transfer!.total)} />
            <button type="button" className="small" onClick={() => void cancelDownload(bridge, downloadId!, ref)} aria-label={`Cancel ${file.path}`}>
              Cancel
            </button>
          </>
        )}
        {state === 'failed' && (
          <>
            <span className="error-text">The download stopped: {transfer!.error ?? 'unknown error'}</span>
            <button type="button" className="small" onClick={download} aria-label={`Resume ${file.path}`}>
              Resume
            </button>
          </>
        )}
        {state === 'done' && (
          <>
            <button type="button" className="small" onClick={() => void save(false)} aria-label={`Save ${file.path}`}>
              Save
            </button>
            {fileDialogs && (
              <button type="button" className="small" onClick={() => void save(true)} aria-label={`Save ${file.path} as…`}>
                Save as…
              </button>
            )}
          </>
        )}
      </span>
      <ErrorText message={error} />
    </li>
  );
}
