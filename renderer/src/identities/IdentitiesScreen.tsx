import { type FormEvent, useId, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { downloadFile } from '../contacts/fileDownload.js';
import { database } from '../db/database.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { MIN_PASSPHRASE_LENGTH } from '../../../shared/protocol/passphrasePolicy.js';
import { BackupProgressBar } from './BackupProgressBar.js';
import { type BackupProgress, exportFullBackup } from './backupTransfer.js';
import { levelForBits } from './anonymityLevels.js';
import { CreateIdentityForm } from './CreateIdentityForm.js';
import { forgetIdentityData } from './forgetIdentityData.js';
import { ImportIdentityForm } from './ImportIdentityForm.js';
import { adoptChange, toldText } from './tellContacts.js';
import { ErrorText } from '../components/ErrorText.js';
import { KeyAvatar } from '../components/KeyAvatar.js';

/** Several identities per user, each with its own contacts and conversations. */
export function IdentitiesScreen() {
  const identities = useSession((s) => s.identities) ?? [];
  const activeId = useSession((s) => s.activeIdentityId);
  const [adding, setAdding] = useState<'create' | 'import' | null>(null);

  return (
    <div className="page">
      <h1>Identities</h1>
      <p className="hint">Each identity has its own key, drop, contacts and conversations. Nobody can link them.</p>
      <ul className="identity-list">
        {identities.map((identity) => (
          <IdentityRow key={identity.id} identity={identity} active={identity.id === activeId} />
        ))}
      </ul>
      <div className="button-row">
        <button type="button" aria-pressed={adding === 'create'} onClick={() => setAdding(adding === 'create' ? null : 'create')}>
          New identity
        </button>
        <button type="button" aria-pressed={adding === 'import'} onClick={() => setAdding(adding === 'import' ? null : 'import')}>
          Import backup
        </button>
      </div>
      {adding === 'create' && (
        <section className="panel" aria-label="New identity">
          <CreateIdentityForm onCreated={() => setAdding(null)} />
        </section>
      )}
      {adding === 'import' && (
        <section className="panel" aria-label="Import backup">
          <ImportIdentityForm onImported={() => setAdding(null)} />
        </section>
      )}
    </div>
  );
}

function IdentityRow({ identity, active }: { identity: IdentitySummary; active: boolean }) {
  const [exporting, setExporting] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [renaming, setRenaming] = useState(false);
  return (
    <li className="identity-row">
      <div className="identity-main">
        <KeyAvatar publicKey={identity.publicKey} />
        <div>
          <strong>{identity.alias}</strong> {active && <span className="tag">Active</span>}
          <p className="hint">
            Drop shared with strangers: {levelForBits(identity.dropBits).label.toLowerCase()} · {identity.dropUrls.length} drop
            {identity.dropUrls.length === 1 ? '' : 's'}
          </p>
        </div>
        <div className="button-row">
          {!active && (
            <button
              type="button"
              onClick={() => {
                useSession.getState().setActiveIdentity(identity.id);
                useUi.getState().openConversation(null);
              }}
            >
              Switch to {identity.alias}
            </button>
          )}
          <button type="button" aria-expanded={renaming} onClick={() => setRenaming((x) => !x)}>
            Rename…
          </button>
          <button type="button" aria-expanded={exporting} onClick={() => setExporting((x) => !x)}>
            Export backup
          </button>
          <button type="button" className="danger ghost" aria-expanded={deleting} onClick={() => setDeleting((x) => !x)}>
            Delete…
          </button>
        </div>
      </div>
      {renaming && <RenameForm identity={identity} onDone={() => setRenaming(false)} />}
      {exporting && <ExportBackupForm identity={identity} onDone={() => setExporting(false)} />}
      {deleting && <DeleteIdentity identity={identity} onCancel={() => setDeleting(false)} />}
    </li>
  );
}

/** A new alias: contacts see it on the next contact card, and accepted contacts are told at once. */
function RenameForm({ identity, onDone }: { identity: IdentitySummary; onDone: () => void }) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [alias, setAlias] = useState(identity.alias);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const clean = alias.trim();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || busy || clean === '' || clean === identity.alias) return;
    setBusy(true);
    const result = await bridge.invoke('identities/rename', { identityId: identity.id, alias: clean });
    if (!result.ok) {
      setBusy(false);
      setError(result.error.message);
      return;
    }
    const told = await adoptChange(identity, result.value);
    setBusy(false);
    useUi.getState().notify('info', `${identity.alias} is now called ${result.value.alias}.${toldText(told)}`);
    onDone();
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Rename ${identity.alias}`}>
      <label htmlFor={`${formId}-alias`}>New name</label>
      <input id={`${formId}-alias`} value={alias} onChange={(e) => setAlias(e.target.value)} maxLength={64} autoComplete="off" />
      <button type="submit" className="primary" disabled={busy || clean === '' || clean === identity.alias}>
        {busy ? 'Renaming…' : 'Rename'}
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      <ErrorText message={error} />
    </form>
  );
}

function ExportBackupForm({ identity, onDone }: { identity: IdentitySummary; onDone: () => void }) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [includeHistory, setIncludeHistory] = useState(true);
  const [progress, setProgress] = useState<BackupProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const mismatch = repeat !== '' && repeat !== passphrase;
  const tooShort = passphrase.length < MIN_PASSPHRASE_LENGTH;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || tooShort || passphrase !== repeat || progress) return;
    setError(null);
    setProgress({ step: 'Starting', fraction: null });
    try {
      const file = await exportFullBackup(bridge, database(), identity, { passphrase, includeHistory }, setProgress);
      downloadFile(file.fileName, new Blob([file.bytes], { type: 'application/json' }));
      useUi.getState().notify('info', 'Backup saved. Keep the file and its passphrase apart.');
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The backup could not be made.');
    } finally {
      setProgress(null);
    }
  };

  return (
    <form className="stack export-form" onSubmit={submit} aria-label={`Export a backup of ${identity.alias}`}>
      <p className="hint">
        The backup holds your private key, drops, contacts with their verification, and conversations, encrypted with this
        passphrase (at least {MIN_PASSPHRASE_LENGTH} characters). Without the passphrase nobody can open it, not even you.
      </p>
      <label htmlFor={`${formId}-p1`}>Backup passphrase</label>
      <input id={`${formId}-p1`} type="password" autoComplete="new-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
      <label htmlFor={`${formId}-p2`}>Repeat passphrase</label>
      <input
        id={`${formId}-p2`}
        type="password"
        autoComplete="new-password"
        value={repeat}
        onChange={(e) => setRepeat(e.target.value)}
        aria-invalid={mismatch}
      />
      {mismatch && <p className="error-text">The passphrases differ.</p>}
      <label className="choice">
        <input type="checkbox" checked={includeHistory} onChange={(e) => setIncludeHistory(e.target.checked)} />
        <span>Include message history</span>
      </label>
      {!includeHistory && <p className="hint">Without history, a restore brings back contacts and empty conversations.</p>}
      <BackupProgressBar progress={progress} label="Backup progress" />
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={tooShort || passphrase !== repeat || progress !== null}>
        {progress ? 'Saving backup…' : 'Save backup file'}
      </button>
    </form>
  );
}

function DeleteIdentity({ identity, onCancel }: { identity: IdentitySummary; onCancel: () => void }) {
  const bridge = useSession((s) => s.bridge);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    if (!bridge) return;
    const result = await bridge.invoke('identities/delete', { identityId: identity.id });
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    await forgetIdentityData(database(), identity.id);
    const list = await bridge.invoke('identities/list', {});
    if (list.ok) useSession.getState().setIdentities(list.value);
    useUi.getState().notify('info', `${identity.alias} was deleted.`);
  };
  return (
    <div className="danger-zone" role="group" aria-label={`Delete ${identity.alias}`}>
      <p>
        Delete <strong>{identity.alias}</strong> with its key, contacts and conversations? Only a backup file brings them
        back: the key, drops and contacts, and the messages only if the backup included message history. Without a backup,
        messages sent to this identity can no longer be read.
      </p>
      <ErrorText message={error} />
      <div className="button-row">
        <button type="button" className="danger" onClick={() => void remove()}>
          Delete {identity.alias}
        </button>
        <button type="button" onClick={onCancel}>
          Keep
        </button>
      </div>
    </div>
  );
}
