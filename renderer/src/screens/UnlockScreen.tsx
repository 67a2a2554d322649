import { type FormEvent, useState } from 'react';
import { afterUnlock } from '../app/engineSync.js';
import { database } from '../db/database.js';
import { unlockDatabase } from '../db/unlockDatabase.js';
import { useSession } from '../stores/sessionStore.js';

/** Asks for the passphrase when the engine keeps its keys encrypted with one. */
export function UnlockScreen() {
  const bridge = useSession((s) => s.bridge);
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || passphrase.length === 0) return;
    setBusy(true);
    const result = await bridge.invoke('app/unlock', { passphrase });
    if (!result.ok) {
      setBusy(false);
      // The state file is checked separately: a refused unlock here means the passphrase is wrong.
      setError(result.error.code === 'bad_passphrase' ? 'Wrong passphrase. Try again.' : result.error.message);
      return;
    }
    try {
      await unlockDatabase(bridge, database());
    } catch (err) {
      setBusy(false);
      setError((err as Error).message);
      return;
    }
    setBusy(false);
    setPassphrase('');
    useSession.getState().setAppInfo(result.value);
    await afterUnlock(bridge, database());
  };

  return (
    <main className="centered">
      <form className="card narrow" onSubmit={submit} aria-labelledby="unlock-title">
        <h1 id="unlock-title">Unlock Deaddrop</h1>
        <p>Your keys are protected with a passphrase. Enter it to read and send messages.</p>
        <label htmlFor="unlock-passphrase">Passphrase</label>
        <input
          id="unlock-passphrase"
          type="password"
          autoComplete="current-password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
          aria-invalid={error !== null}
          aria-describedby={error ? 'unlock-error' : undefined}
          autoFocus
        />
        {error && (
          <p id="unlock-error" className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || passphrase.length === 0}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </form>
    </main>
  );
}
