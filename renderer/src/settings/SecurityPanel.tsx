import { type FormEvent, useId, useState } from 'react';
import type { EngineSettings } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { ErrorText } from '../components/ErrorText.js';
import { NewPassphraseFields, checkNewPassphrase } from '../screens/NewPassphraseFields.js';
import { lockNow, useAutoLock } from '../screens/sessionLock.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { database } from '../db/database.js';
import { tellSettings } from '../devices/syncSettings.js';

type AutoLockMinutes = EngineSettings['autoLockMinutes'];
const autoLockChoices: Array<{ value: AutoLockMinutes; label: string }> = [
  { value: 0, label: 'Never' },
  { value: 5, label: 'After 5 minutes' },
  { value: 15, label: 'After 15 minutes' },
  { value: 60, label: 'After 1 hour' },
];

const shortcut = () => (/Mac|iPhone|iPad/.test(navigator.platform) ? '⌘L' : 'Ctrl+L');

/** Lock now, auto-lock and Change passphrase, for a profile protected by a passphrase. */
export function SecurityPanel() {
  const id = useId();
  const bridge = useSession((s) => s.bridge);
  const keyProtection = useSession((s) => s.appInfo?.keyProtection);
  if (!bridge) return null;
  return (
    <section className="panel stack" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Passphrase and locking</h2>
      {keyProtection === 'passphrase' ? (
        <>
          <LockControls bridge={bridge} />
          <ChangePassphraseForm bridge={bridge} />
        </>
      ) : (
        <p className="hint">
          The keys of this profile are protected by this computer’s keyring, which opens them when you log in: there is no
          passphrase to lock Deaddrop with or to change. Lock your computer’s screen when you step away.
        </p>
      )}
    </section>
  );
}

function LockControls({ bridge }: { bridge: EngineBridge }) {
  const id = useId();
  const minutes = useAutoLock((s) => s.minutes);
  const [error, setError] = useState<string | null>(null);

  const setMinutes = async (value: AutoLockMinutes) => {
    const answer = await bridge.invoke('settings/set', { autoLockMinutes: value });
    if (!answer.ok) return setError(`Auto-lock was not changed: ${answer.error.message}`);
    setError(null);
    useAutoLock.setState({ minutes: answer.value.autoLockMinutes });
    void tellSettings(database(), answer.value);
    useUi.getState().notify('info', value === 0 ? 'Auto-lock is off.' : `Deaddrop locks after ${value} minutes without use.`);
  };

  return (
    <>
      <div className="button-row">
        <button type="button" onClick={() => void lockNow(bridge).then(setError)} aria-describedby={`${id}-lock-hint`}>
          Lock now
        </button>
        <span className="hint" id={`${id}-lock-hint`}>
          {shortcut()}: forgets the keys until you enter the passphrase again; no messages are fetched or sent meanwhile.
        </span>
      </div>
      <label htmlFor={`${id}-auto`}>Lock when not used</label>
      <select id={`${id}-auto`} value={minutes} onChange={(e) => void setMinutes(Number(e.target.value) as AutoLockMinutes)}>
        {autoLockChoices.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
      <p className="hint">Counts the time without keyboard, mouse or touch input in this window.</p>
      <ErrorText message={error} />
    </>
  );
}

function ChangePassphraseForm({ bridge }: { bridge: EngineBridge }) {
  const id = useId();
  const [current, setCurrent] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const problem = current.length === 0 ? 'Enter your current passphrase.' : checkNewPassphrase(passphrase, repeat);
    if (problem) return setError(problem);
    setBusy(true);
    setError(null);
    const answer = await bridge.invoke('app/changePassphrase', { oldPassphrase: current, newPassphrase: passphrase });
    setBusy(false);
    if (!answer.ok) {
      return setError(answer.error.code === 'bad_passphrase' ? 'Wrong passphrase: the current passphrase was not accepted. Nothing was changed.' : answer.error.message);
    }
    setCurrent('');
    setPassphrase('');
    setRepeat('');
    useUi.getState().notify('info', 'Passphrase changed. Use the new one from now on.');
  };

  return (
    <form className="stack" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Change passphrase</h3>
      <label htmlFor={`${id}-current`}>Current passphrase</label>
      <input id={`${id}-current`} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
      <NewPassphraseFields
        passphrase={passphrase}
        repeat={repeat}
        onPassphrase={setPassphrase}
        onRepeat={setRepeat}
        labels={{ passphrase: 'New passphrase', repeat: 'Repeat the new passphrase' }}
      />
      <p className="hint">The new passphrase cannot be recovered either: keep it somewhere safe.</p>
      <ErrorText message={error} />
      <div className="button-row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Changing…' : 'Change passphrase'}
        </button>
      </div>
    </form>
  );
}
