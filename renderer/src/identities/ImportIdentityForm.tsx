import { type FormEvent, useId, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { database } from '../db/database.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { ErrorText } from '../components/ErrorText.js';
import { adoptIdentity } from './adoptIdentity.js';
import { BackupProgressBar } from './BackupProgressBar.js';
import { type BackupProgress, openBackupFile, restoreOpenedBackup } from './backupTransfer.js';

/** The engine reads no larger file (`MAX_BACKUP_FILE_BYTES`); refusing here spares the upload. */
const MAX_BACKUP_BYTES = 256 * 1024 * 1024;

/**
 * Restores an identity from a backup file: a full backup (`.ddbackup`: key, drops, contacts,
 * conversations and, if it holds them, messages) or an identity-only `.qid` of an older version.
 */
export function ImportIdentityForm({ onImported }: { onImported: (identity: IdentitySummary) => void }) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<BackupProgress | null>(null);

  const chooseFile = (chosen: File | undefined) => {
    setError(null);
    setFile(null);
    if (!chosen) return;
    if (chosen.size > MAX_BACKUP_BYTES) {
      setError('That file is too large to be a Deaddrop backup.');
      return;
    }
    setFile(chosen);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || !file || progress) return;
    setError(null);
    setProgress({ step: 'Reading the file', fraction: null });
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const opened = await openBackupFile(bridge, bytes, passphrase, setProgress);
      const identity = await restoreOpenedBackup(bridge, database(), opened, setProgress);
      await adoptIdentity(bridge, identity);
      const { preview } = opened;
      useUi.getState().notify('info', preview.kind === 'full' ? restoredText(preview.alias, preview.contacts, preview.messages, preview.includesHistory) : `${preview.alias} was restored (key and drops only: this file holds no contacts).`);
      onImported(identity);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The backup could not be restored.');
    } finally {
      setProgress(null);
    }
  };

  return (
    <form className="stack" onSubmit={submit} aria-label="Restore an identity from a backup">
      <label htmlFor={`${formId}-file`}>Backup file</label>
      <input
        id={`${formId}-file`}
        type="file"
        accept=".ddbackup,.qid,application/json"
        aria-describedby={`${formId}-file-hint`}
        onChange={(e) => chooseFile(e.target.files?.[0])}
      />
      <p className="hint" id={`${formId}-file-hint`}>
        A .ddbackup file, or a .qid identity file from an older version. Nothing changes here until the whole file has been
        checked.
      </p>
      <label htmlFor={`${formId}-pass`}>Backup passphrase</label>
      <input id={`${formId}-pass`} type="password" autoComplete="off" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
      <BackupProgressBar progress={progress} label="Restore progress" />
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={progress !== null || !file || passphrase === ''}>
        {progress ? 'Restoring…' : 'Restore backup'}
      </button>
    </form>
  );
}

function restoredText(alias: string, contacts: number, messages: number, includesHistory: boolean): string {
  const contactText = `${contacts.toLocaleString('en')} contact${contacts === 1 ? '' : 's'}`;
  if (!includesHistory) return `${alias} was restored with ${contactText} (the backup holds no message history).`;
  return `${alias} was restored with ${contactText} and ${messages.toLocaleString('en')} message${messages === 1 ? '' : 's'}.`;
}
