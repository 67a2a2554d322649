import { useEffect, useState } from 'react';
import type { LocalServerStatus } from '../../../shared/ipc/contract.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { ErrorText } from '../components/ErrorText.js';

/** The desktop app can run a drop server on this computer (capability `localServer`); other hosts cannot. */
export function LocalServerPanel() {
  const offered = useCapability('localServer');
  const bridge = useSession((s) => s.bridge);
  const [status, setStatus] = useState<LocalServerStatus | null>(null);
  const [expose, setExpose] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!offered) return;
    void bridge?.invoke('localServer/status', {}).then((r) => {
      if (r.ok) setStatus(r.value);
      else setError(r.error.message);
    });
  }, [bridge, offered]);

  const toggle = async () => {
    if (!bridge || !status) return;
    const result = status.running ? await bridge.invoke('localServer/stop', {}) : await bridge.invoke('localServer/start', { port: 0, expose });
    if (result.ok) {
      setStatus(result.value);
      setError(null);
    } else {
      setError(result.error.message);
    }
  };

  return (
    <section className="stack" aria-labelledby="local-server-title">
      <h2 id="local-server-title">Drop server on this computer</h2>
      {!offered && <p className="hint">Only the desktop app can run a drop server on this computer.</p>}
      {status && (
        <>
          <p>{status.running ? `Running at ${status.url ?? ''}` : 'Not running.'}</p>
          {status.shareUrls.length > 0 && <p className="hint">Friends on your network can use: {status.shareUrls.join(', ')}</p>}
          {!status.running && (
            <label className="choice">
              <input type="checkbox" checked={expose} onChange={(e) => setExpose(e.target.checked)} />
              <span>Let others on my local network reach it</span>
            </label>
          )}
          <button type="button" onClick={() => void toggle()}>
            {status.running ? 'Stop the drop server' : 'Start a drop server'}
          </button>
        </>
      )}
      <ErrorText message={error} />
    </section>
  );
}
