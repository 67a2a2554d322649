import { type FormEvent, useId, useRef, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { anonymityLevels } from './anonymityLevels.js';
import { LocalServerChoice } from './LocalServerChoice.js';
import { ErrorText } from '../components/ErrorText.js';
import { adoptIdentity } from './adoptIdentity.js';
import { checkServerUrl } from '../settings/dropUrls.js';
import { serverProbeProblem } from './serverProbeWords.js';

/** A server that did not answer as a drop server: the user may go on with it anyway, or fix it. */
interface ServerDoubt {
  url: string;
  problem: string;
}

/**
 * Alias, drop server and anonymity level for a new identity. The server is asked first whether it is
 * a drop server; when it does not answer as one, the form says why and lets the user create the
 * identity anyway (the server may come up later) or correct the address.
 */
export function CreateIdentityForm({ onCreated }: { onCreated: (identity: IdentitySummary) => void }) {
  const bridge = useSession((s) => s.bridge);
  const localServerOffered = useCapability('localServer');
  const formId = useId();
  const serverField = useRef<HTMLInputElement>(null);
  const [alias, setAlias] = useState('');
  const [serverUrl, setServerUrl] = useState('');
  const [level, setLevel] = useState<string>('none');
  const [error, setError] = useState<string | null>(null);
  const [doubt, setDoubt] = useState<ServerDoubt | null>(null);
  const [busy, setBusy] = useState<'checking' | 'creating' | null>(null);

  const changeServer = (url: string) => {
    setServerUrl(url);
    setDoubt(null);
  };

  const create = async (url: string) => {
    if (!bridge) return;
    const dropBits = anonymityLevels.find((l) => l.id === level)?.dropBits ?? 256;
    setBusy('creating');
    const result = await bridge.invoke('identities/create', { alias: alias.trim(), serverUrl: url, dropBits });
    setBusy(null);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    await adoptIdentity(bridge, result.value);
    onCreated(result.value);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge) return;
    setError(null);
    setDoubt(null);
    const checked = checkServerUrl(serverUrl);
    if (!checked.ok) {
      setError(checked.message);
      serverField.current?.focus();
      return;
    }
    setServerUrl(checked.url);
    setBusy('checking');
    const probe = await bridge.invoke('servers/probe', { serverUrl: checked.url });
    setBusy(null);
    if (!probe.ok) {
      setError(probe.error.message);
      return;
    }
    const problem = serverProbeProblem(checked.url, probe.value);
    if (problem) {
      setDoubt({ url: checked.url, problem });
      return;
    }
    await create(checked.url);
  };

  const fixAddress = () => {
    setDoubt(null);
    serverField.current?.focus();
    serverField.current?.select();
  };

  return (
    <form className="stack" onSubmit={submit} aria-label="Create an identity">
      <label htmlFor={`${formId}-alias`}>Your name, as contacts will see it</label>
      <input id={`${formId}-alias`} value={alias} onChange={(e) => setAlias(e.target.value)} maxLength={64} required />
      {localServerOffered && <LocalServerChoice onServerUrl={changeServer} first />}
      {localServerOffered && <p className="hint">Or enter the address of another drop server, such as one run by a friend or a provider:</p>}
      <label htmlFor={`${formId}-server`}>Drop server</label>
      <input
        id={`${formId}-server`}
        ref={serverField}
        type="text"
        inputMode="url"
        autoComplete="url"
        spellCheck={false}
        placeholder="https://drop.example.org"
        value={serverUrl}
        onChange={(e) => changeServer(e.target.value)}
        aria-describedby={`${formId}-server-help`}
        aria-invalid={doubt !== null || undefined}
        required
      />
      <p id={`${formId}-server-help`} className="hint">
        Messages to you wait on this server until you fetch them. It never learns who writes to you.
      </p>
      {doubt && (
        <div className="stack" role="alert" data-testid="server-doubt">
          <p>{doubt.problem}</p>
          <p>You can create the identity anyway: messages to you wait until the server answers. Or correct the address.</p>
          <div className="button-row">
            <button type="button" className="primary" onClick={fixAddress}>
              Correct the address
            </button>
            <button type="button" onClick={() => void create(doubt.url)} disabled={busy !== null}>
              {busy === 'creating' ? 'Creating…' : 'Create anyway'}
            </button>
          </div>
        </div>
      )}
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
      {!doubt && (
        <button type="submit" className="primary" disabled={busy !== null || alias.trim() === '' || serverUrl.trim() === ''}>
          {busy === 'checking' ? 'Checking the server…' : busy === 'creating' ? 'Creating…' : 'Create identity'}
        </button>
      )}
    </form>
  );
}
