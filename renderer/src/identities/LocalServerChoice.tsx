import { useEffect, useId, useState } from 'react';
import type { LocalServerStatus } from '../../../shared/ipc/contract.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { ErrorText } from '../components/ErrorText.js';

/** Empty means any free port; otherwise a whole number the server may listen on. */
function parsePort(text: string): number | null {
  if (text.trim() === '') return 0;
  if (!/^\d{1,5}$/.test(text.trim())) return null;
  const port = Number(text.trim());
  return port >= 1 && port <= 65_535 ? port : null;
}

/**
 * First-run alternative to typing a server URL: the desktop app runs the project's drop server itself
 * (data in the profile folder) and fills in its address. Hidden where the host cannot run one (no
 * `localServer` capability, e.g. in the browser). `first`: offered before the address field, as the
 * first choice, rather than as an alternative after it.
 */
export function LocalServerChoice({ onServerUrl, first = false }: { onServerUrl: (url: string) => void; first?: boolean }) {
  const offered = useCapability('localServer');
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [status, setStatus] = useState<LocalServerStatus | null>(null);
  const [port, setPort] = useState('');
  const [expose, setExpose] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!offered) return;
    let mounted = true;
    void bridge?.invoke('localServer/status', {}).then((result) => {
      if (mounted && result.ok) setStatus(result.value);
    });
    return () => {
      mounted = false;
    };
  }, [bridge, offered]);

  if (!offered || !status) return null;

  // The identity's drop URL goes into its contact card: when friends on the network should reach the
  // server, it must be an address they can use, not loopback.
  const chooseServer = (running: LocalServerStatus) => {
    const url = running.shareUrls[0] ?? running.url;
    if (url) onServerUrl(url);
  };

  const start = async () => {
    const chosenPort = parsePort(port);
    if (chosenPort === null) {
      setError('The port must be a number from 1 to 65535, or empty for any free port.');
      return;
    }
    if (!bridge) return;
    setBusy(true);
    setError(null);
    const result = await bridge.invoke('localServer/start', { port: chosenPort, expose });
    setBusy(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setStatus(result.value);
    chooseServer(result.value);
  };

  return (
    <fieldset className="stack" aria-describedby={`${formId}-local-help`}>
      <legend>{first ? 'Run a drop server on this computer' : 'Or run a drop server on this computer'}</legend>
      <p id={`${formId}-local-help`} className="hint">
        Messages then wait on this computer, so it has to be on for them to arrive.
      </p>
      {status.running && status.url ? (
        <>
          <p>
            Running at <code>{status.url}</code>
          </p>
          <button type="button" onClick={() => chooseServer(status)}>
            Use the server on this computer
          </button>
        </>
      ) : (
        <>
          <label htmlFor={`${formId}-local-port`}>Port (empty: any free port)</label>
          <input
            id={`${formId}-local-port`}
            inputMode="numeric"
            value={port}
            onChange={(e) => setPort(e.target.value)}
            maxLength={5}
          />
          <label className="choice">
            <input type="checkbox" checked={expose} onChange={(e) => setExpose(e.target.checked)} />
            <span>Let others on my local network reach it</span>
          </label>
          <button type="button" onClick={() => void start()} disabled={busy}>
            {busy ? 'Starting…' : 'Run a drop server on this computer'}
          </button>
        </>
      )}
      {status.shareUrls.length > 0 && <p className="hint">Friends on your network can use: {status.shareUrls.join(', ')}</p>}
      <ErrorText message={error} />
    </fieldset>
  );
}
