import { type FormEvent, useEffect, useId, useState } from 'react';
import { useSavedSettings } from './savedSettings.js';
import { DEFAULT_COPIES, type EngineSettings } from '../../../shared/ipc/contract.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { ErrorText } from '../components/ErrorText.js';
import { database } from '../db/database.js';
import { tellSettings } from '../devices/syncSettings.js';

type ProxyKind = EngineSettings['proxy']['kind'];

/** The engine takes 1 to 4 copies of each message (k of n, PROTOCOL-V1.md 2c). */
const COPY_CHOICES = [1, 2, 3, 4] as const;

/**
 * Poll interval, push, proxy, local-network access, delivery receipts, copies per message and closed drops: settings the
 * engine applies to all drop traffic (the command-line client of the same profile honours them too).
 */
export function EngineSettingsForm() {
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [loaded, setLoaded] = useState<EngineSettings | null>(null);
  const [pollSeconds, setPollSeconds] = useState('30');
  const [push, setPush] = useState(true);
  const [allowLocalNetwork, setAllowLocalNetwork] = useState(false);
  const [sendReceipts, setSendReceipts] = useState(true);
  const [copies, setCopies] = useState(DEFAULT_COPIES);
  const [closedDrops, setClosedDrops] = useState(false);
  const [proxyKind, setProxyKind] = useState<ProxyKind>('none');
  const [proxyUrl, setProxyUrl] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void bridge?.invoke('settings/get', {}).then((result) => {
      if (!result.ok) return setError(result.error.message);
      const s = result.value;
      setLoaded(s);
      setPollSeconds(String(Math.round(s.pollIntervalMs / 1000)));
      setPush(s.push);
      setAllowLocalNetwork(s.allowLocalNetwork);
      setSendReceipts(s.sendReceipts);
      setCopies(s.copies ?? DEFAULT_COPIES);
      setClosedDrops(s.closedDrops ?? false);
      setProxyKind(s.proxy.kind);
      setProxyUrl(s.proxy.kind === 'none' ? '' : s.proxy.url);
    });
  }, [bridge]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge) return;
    const seconds = Number(pollSeconds);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
      setError('The poll interval must be a whole number of seconds between 1 and 3600.');
      return;
    }
    const proxy: EngineSettings['proxy'] = proxyKind === 'none' ? { kind: 'none' } : { kind: proxyKind, url: proxyUrl.trim() };
    setError(null);
    const result = await bridge.invoke('settings/set', { pollIntervalMs: seconds * 1000, push, proxy, allowLocalNetwork, sendReceipts, copies, closedDrops });
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setError(null);
    setLoaded(result.value);
    useSavedSettings.getState().publish(result.value);
    // Receipts, copies and closed drops follow the user to the identity's other devices.
    void tellSettings(database(), result.value);
    useUi.getState().notify('info', 'Network settings saved.');
  };

  return (
    <form className="stack" onSubmit={submit} aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>Network</h2>
      <label htmlFor={`${formId}-poll`}>Check for messages every (seconds)</label>
      <input id={`${formId}-poll`} type="number" min={1} max={3600} value={pollSeconds} onChange={(e) => setPollSeconds(e.target.value)} />
      <label className="choice">
        <input type="checkbox" checked={push} onChange={(e) => setPush(e.target.checked)} />
        <span>Use push where the drop server offers it (faster, keeps a connection open)</span>
      </label>
      <label className="choice">
        <input type="checkbox" checked={allowLocalNetwork} onChange={(e) => setAllowLocalNetwork(e.target.checked)} aria-describedby={`${formId}-local-hint`} />
        <span>Allow drop servers on this computer and the local network</span>
      </label>
      <p className="hint" id={`${formId}-local-hint`}>
        Off: contacts’ drop servers at loopback, private or link-local addresses (127.0.0.1, 192.168.x.x, …) are
        refused, so a message cannot make this app reach devices on your network. Servers of your own drops are
        always used. Turn it on to write to a friend’s server on your network.
      </p>
      <label className="choice">
        <input type="checkbox" checked={sendReceipts} onChange={(e) => setSendReceipts(e.target.checked)} aria-describedby={`${formId}-receipts-hint`} />
        <span>Send delivery receipts</span>
      </label>
      <p className="hint" id={`${formId}-receipts-hint`}>
        On: contacts who ask see “Delivered” once a message reached this app (strangers never get a receipt).
        Off: nobody learns when, or whether, you received a message.
      </p>
      <label htmlFor={`${formId}-copies`}>Copies per message</label>
      <select id={`${formId}-copies`} value={copies} onChange={(e) => setCopies(Number(e.target.value))} aria-describedby={`${formId}-copies-hint`}>
        {COPY_CHOICES.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <p className="hint" id={`${formId}-copies-hint`}>
        Each message goes to this many of the recipient’s drop servers: more copies survive more servers failing, each costs one more
        upload. A contact with fewer servers gets one copy per server.
      </p>
      <label className="choice">
        <input
          type="checkbox"
          role="switch"
          checked={closedDrops}
          onChange={(e) => setClosedDrops(e.target.checked)}
          aria-describedby={`${formId}-closed-hint`}
        />
        <span>Closed drops</span>
      </label>
      {/* The engine does not (yet) report a server's daily limit of introductions, hence no figure here. */}
      <p className="hint" id={`${formId}-closed-hint`}>
        New drops you create are closed: only contacts holding tickets from you can write freely; strangers, original Qabel apps
        and contacts without tickets must send a proof of work, at most as many a day as the drop server allows (the server’s
        limit). Drops you already have stay as they are.
      </p>
      <fieldset>
        <legend>Proxy for all drop traffic</legend>
        {(['none', 'http', 'socks5'] as const).map((kind) => (
          <label key={kind} className="choice">
            <input type="radio" name={`${formId}-proxy`} checked={proxyKind === kind} onChange={() => setProxyKind(kind)} />
            <span>{kind === 'none' ? 'No proxy' : kind === 'http' ? 'HTTP proxy' : 'SOCKS5 proxy (e.g. Tor)'}</span>
          </label>
        ))}
      </fieldset>
      {proxyKind !== 'none' && (
        <>
          <label htmlFor={`${formId}-proxy-url`}>Proxy address</label>
          <input
            id={`${formId}-proxy-url`}
            placeholder={proxyKind === 'socks5' ? 'socks5://127.0.0.1:9050' : 'http://127.0.0.1:8080'}
            value={proxyUrl}
            onChange={(e) => setProxyUrl(e.target.value)}
          />
        </>
      )}
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={!loaded}>
        Save network settings
      </button>
    </form>
  );
}
