import { type FormEvent, useId, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { useSession } from '../stores/sessionStore.js';
import { anonymityLevels } from './anonymityLevels.js';
import { LocalServerChoice } from './LocalServerChoice.js';
import { ErrorText } from '../components/ErrorText.js';
import { adoptIdentity } from './adoptIdentity.js';

/** Alias, drop server and anonymity level for a new identity. */
export function CreateIdentityForm({ onCreated }: { onCreated: (identity: IdentitySummary) => void }) {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [alias, setAlias] = useState('');
  const [serverUrl, setServerUrl] = useState('');
  const [level, setLevel] = useState<string>('none');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge) return;
    const dropBits = anonymityLevels.find((l) => l.id === level)?.dropBits ?? 256;
    setBusy(true);
    setError(null);
    const result = await bridge.invoke('identities/create', { alias: alias.trim(), serverUrl: serverUrl.trim(), dropBits });
    setBusy(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    await adoptIdentity(bridge, result.value);
    onCreated(result.value);
  };

  return (
    <form className="stack" onSubmit={submit} aria-label="Create an identity">
      <label htmlFor={`${formId}-alias`}>Your name, as contacts will see it</label>
      <input id={`${formId}-alias`} value={alias} onChange={(e) => setAlias(e.target.value)} maxLength={64} required />
      <label htmlFor={`${formId}-server`}>Drop server</label>
      <input
        id={`${formId}-server`}
        type="url"
        placeholder="https://drop.example.org"
        value={serverUrl}
        onChange={(e) => setServerUrl(e.target.value)}
        aria-describedby={`${formId}-server-help`}
        required
      />
      <p id={`${formId}-server-help`} className="hint">
        Messages to you wait on this server until you fetch them. It never learns who writes to you.
      </p>
      <LocalServerChoice onServerUrl={setServerUrl} />
      <fieldset>
        <legend>Share my drop with strangers</legend>
        {anonymityLevels.map((l) => (
          <label key={l.id} className="choice">
            <input type="radio" name={`${formId}-level`} value={l.id} checked={level === l.id} onChange={() => setLevel(l.id)} />
            <span>
              <strong>{l.label}</strong>
              <span className="hint"> {l.explanation}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={busy || alias.trim() === '' || serverUrl.trim() === ''}>
        {busy ? 'Creating…' : 'Create identity'}
      </button>
    </form>
  );
}
