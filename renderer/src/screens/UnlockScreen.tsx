import { type FormEvent, useState } from 'react';
import type { AppInfo } from '../../../shared/ipc/contract.js';
import { afterUnlock } from '../app/engineSync.js';
import type { EngineBridge } from '../bridge/transport.js';
import { database } from '../db/database.js';
import { unlockDatabase } from '../db/unlockDatabase.js';
import { useSession } from '../stores/sessionStore.js';
import { NewPassphraseFields, checkNewPassphrase } from './NewPassphraseFields.js';

/**
 * The engine keeps its keys under a passphrase: the first time, the user chooses it; afterwards they
 * enter it (also after Lock now and auto-lock).
 */
export function UnlockScreen() {
  const keyProtection = useSession((s) => s.appInfo?.keyProtection);
  return keyProtection === 'new' ? <ChoosePassphrase /> : <EnterPassphrase />;
}

/** Sends the passphrase; on success opens the sealed database and loads the engine's state. Resolves with an error sentence or null. */
async function unlockWith(bridge: EngineBridge, passphrase: string): Promise<string | null> {
  const result = await bridge.invoke('app/unlock', { passphrase });
  // The state file is checked separately: a refused unlock here means the passphrase is wrong.
  if (!result.ok) return result.error.code === 'bad_passphrase' ? 'Wrong passphrase. Try again.' : result.error.message;
  try {
    await unlockDatabase(bridge, database());
  } catch (err) {
    return (err as Error).message;
  }
  const info: AppInfo = result.value;
  useSession.getState().setAppInfo(info);
  await afterUnlock(bridge, database());
  return null;
}

function EnterPassphrase() {
  const bridge = useSession((s) => s.bridge);
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || passphrase.length === 0) return;
    setBusy(true);
    setError(null);
    const problem = await unlockWith(bridge, passphrase);
    setBusy(false);
    if (problem) setError(problem);
    else setPassphrase('');
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

/** First run: nothing is stored yet, so the passphrase typed now is the one that will protect the keys. */
function ChoosePassphrase() {
  const bridge = useSession((s) => s.bridge);
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge) return;
    const problem = checkNewPassphrase(passphrase, repeat);
    if (problem) return setError(problem);
    setBusy(true);
    setError(null);
    const failed = await unlockWith(bridge, passphrase);
    setBusy(false);
    if (failed) setError(failed);
  };

  return (
    <main className="centered">
      <form className="card narrow stack" onSubmit={submit} aria-labelledby="choose-title" noValidate>
        <h1 id="choose-title">Choose a passphrase</h1>
        <p>
          Deaddrop keeps your keys and messages on this computer, encrypted with a passphrase. You will enter it each time
          Deaddrop starts or is locked.
        </p>
        <p className="warning-text" id="choose-warning">
          It cannot be recovered. Nobody can reset it: if you forget it, the identities and messages on this computer are
          lost. Write it down somewhere safe.
        </p>
        <NewPassphraseFields passphrase={passphrase} repeat={repeat} onPassphrase={setPassphrase} onRepeat={setRepeat} />
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || passphrase.length === 0}>
          {busy ? 'Protecting your keys…' : 'Set passphrase'}
        </button>
      </form>
    </main>
  );
}
