import { useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useSession } from '../stores/sessionStore.js';
import { askForHistory, historyProgress } from './syncHistory.js';

const THIRTY_DAYS_MS = 30 * 86_400_000;

/**
 * Settings → Devices, on an identity with other devices: ask them for the messages this device missed
 * (asked by itself after more than a drop's lifetime away), and how far their answer came.
 */
export function CatchUpPanel({ identity, deviceCount }: { identity: IdentitySummary; deviceCount: number }) {
  const bridge = useSession((s) => s.bridge);
  const progress = useLiveQuery(() => historyProgress(database(), identity.id), [identity.id], null);
  const [note, setNote] = useState<string | null>(null);
  if (deviceCount < 2) return null;

  const ask = async () => {
    if (!bridge) return;
    const asked = await askForHistory(database(), bridge, identity.id, Date.now() - THIRTY_DAYS_MS);
    setNote(asked ? null : 'Could not ask the other devices now; try again later.');
  };

  return (
    <div className="stack" data-testid="catch-up">
      <p className="hint">
        Messages wait on drop servers for a limited time (usually 7 days). A device that was away longer asks the other
        devices for what it missed when it starts; you can also ask now for the last 30 days.
      </p>
      <div className="button-row">
        <button type="button" onClick={() => void ask()}>
          Ask my other devices for missed messages
        </button>
      </div>
      {progress && (
        <p role="status" data-testid="history-progress">
          {progress.total === null
            ? `Asked at ${new Date(progress.askedAt).toLocaleTimeString()}: waiting for another device to answer…`
            : `Received ${progress.received} of ${progress.total} messages from another device.`}
        </p>
      )}
      {note && <p className="error">{note}</p>}
    </div>
  );
}
