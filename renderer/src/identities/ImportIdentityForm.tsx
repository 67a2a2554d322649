import { type FormEvent, useId, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { useSession } from '../stores/sessionStore.js';
import { ErrorText } from '../components/ErrorText.js';
import { adoptIdentity } from './adoptIdentity.js';

const MAX_BACKUP_BYTES = 65_536;

/** Restores an identity from an encrypted `.qid` backup. */
export function ImportIdentityForm({ onImported }: { onImported: (identity: IdentitySummary) => void }) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [backup, setBackup] = useState<{ name: string; text: string } | null>(null);
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const chooseFile = async (file: File | undefined) => {
    setError(null);
    if (!file) return;
    if (file.size > MAX_BACKUP_BYTES) {
      setError('That file is too large to be a Deaddrop identity backup.');
      return;
    }
    setBackup({ name: file.name, text: await file.text() });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || !backup) return;
    setBusy(true);
    const result = await bridge.invoke('identities/import', { backup: backup.text, passphrase });
    setBusy(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    await adoptIdentity(bridge, result.value);
    onImported(result.value);
  };

  return (
    <form className="stack" onSubmit={submit} aria-label="Import an identity backup">
      <label htmlFor={`${formId}-file`}>Backup file (.qid)</label>
      <input id={`${formId}-file`} type="file" accept=".qid,application/json" onChange={(e) => void chooseFile(e.target.files?.[0])} />
      <label htmlFor={`${formId}-pass`}>Backup passphrase</label>
      <input
        id={`${formId}-pass`}
        type="password"
        autoComplete="off"
        value={passphrase}
        onChange={(e) => setPassphrase(e.target.value)}
      />
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={busy || !backup || passphrase === ''}>
        {busy ? 'Importing…' : 'Import identity'}
      </button>
    </form>
  );
}
