import { useId, useState } from 'react';
import { downloadFile } from '../contacts/fileDownload.js';
import { ErrorText } from '../components/ErrorText.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';

/** "Export debug log" for a bug report: only a host that keeps a log file offers it (capability `debugLog`). */
export function DebugLogPanel() {
  const id = useId();
  const offered = useCapability('debugLog');
  const bridge = useSession((s) => s.bridge);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!offered || !bridge) return null;

  const exportLog = async () => {
    setBusy(true);
    const result = await bridge.invoke('logs/export', {});
    setBusy(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setError(null);
    downloadFile(result.value.fileName, result.value.content, 'text/plain');
    useUi.getState().notify('info', 'Debug log saved. Read it before you attach it to a bug report.');
  };

  return (
    <section className="panel stack" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Debug log</h2>
      <p className="hint">
        What the app recorded recently, for a bug report. Keys, drop IDs, passphrases and message text are never written to it.
      </p>
      <button type="button" disabled={busy} onClick={() => void exportLog()}>
        Export debug log
      </button>
      <ErrorText message={error} />
    </section>
  );
}
