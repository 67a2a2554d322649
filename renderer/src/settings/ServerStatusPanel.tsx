import { useEffect } from 'react';
import type { ServerStatus } from '../../../shared/ipc/contract.js';
import { formatMessageTime } from '../chat/formatTime.js';
import { database } from '../db/database.js';
import type { DropStateRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useSession } from '../stores/sessionStore.js';
import { serverOfDrop, shortDrop } from './dropUrls.js';
import { describeServerProblem } from './serverProblem.js';

/** Reachability, last poll and latency per drop server, as the engine last saw them. */
export function ServerStatusPanel() {
  const bridge = useSession((s) => s.bridge);
  const servers = useSession((s) => s.serverStatus);
  const identities = useSession((s) => s.identities) ?? [];

  useEffect(() => {
    void bridge?.invoke('servers/status', {}).then((r) => r.ok && useSession.getState().setServerStatus(r.value));
  }, [bridge]);

  const refresh = async () => {
    await bridge?.invoke('poller/pollNow', {});
    const r = await bridge?.invoke('servers/status', {});
    if (r?.ok) useSession.getState().setServerStatus(r.value);
  };

  return (
    <section className="stack" aria-labelledby="server-status-title">
      <h2 id="server-status-title">Drop servers</h2>
      <p className="hint">Your identities receive on: {[...new Set(identities.flatMap((i) => i.dropUrls.map(serverOfDrop)))].join(', ') || 'none'}</p>
      <table className="status-table">
        <caption className="visually-hidden">Status of each drop server</caption>
        <thead>
          <tr>
            <th scope="col">Server</th>
            <th scope="col">Reachable</th>
            <th scope="col">Last poll</th>
            <th scope="col">Latency</th>
            <th scope="col">Push</th>
          </tr>
        </thead>
        <tbody>
          {servers.length === 0 && (
            <tr>
              <td colSpan={5}>No status yet.</td>
            </tr>
          )}
          {servers.map((s) => (
            <tr key={s.serverUrl}>
              <th scope="row" className="mono">
                {s.serverUrl}
              </th>
              <td>
                {s.reachable === null ? 'Unknown' : s.reachable ? 'Yes' : 'No'}
                {s.lastError && (
                  <span className="hint" title={s.lastError}>
                    {' '}
                    ({describeServerProblem(s.lastError)})
                  </span>
                )}
              </td>
              <td>{s.lastPollAt ? formatMessageTime(s.lastPollAt) : 'Never'}</td>
              <td>{s.latencyMs === null || s.reachable === false ? '–' : `${Math.round(s.latencyMs)} ms`}</td>
              <td>{s.pushConnected ? 'Connected' : 'Off'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={() => void refresh()}>
        Check now
      </button>
      <MalformedNote servers={servers} />
      <DropActivity />
    </section>
  );
}

/**
 * Messages sealed for one of the user's identities that could not be read (a payload failing its
 * module's schema, a forged sender field): dropped unseen, so only this count says they came.
 */
function MalformedNote({ servers }: { servers: readonly ServerStatus[] }) {
  const withMalformed = servers.filter((s) => s.malformedMessages > 0);
  if (withMalformed.length === 0) return null;
  return (
    <p className="hint" role="note">
      Unreadable messages dropped since Deaddrop started:{' '}
      {withMalformed.map((s) => `${s.malformedMessages.toLocaleString()} at ${s.serverUrl}`).join(', ')}. They were sealed for you but malformed (a
      broken or hostile sender); nothing of them is shown.
    </p>
  );
}

/** What arrived from each drop, as this window stored it. */
function DropActivity() {
  const drops = useLiveQuery(() => database().drops.toArray(), [], [] as DropStateRecord[]);
  if (drops.length === 0) return null;
  return (
    <table className="status-table">
      <caption>Messages received per drop</caption>
      <thead>
        <tr>
          <th scope="col">Drop</th>
          <th scope="col">Last messages</th>
          <th scope="col">Received</th>
        </tr>
      </thead>
      <tbody>
        {drops.map((d) => (
          <tr key={d.dropUrl}>
            <th scope="row" className="mono">
              {shortDrop(d.dropUrl)}
            </th>
            <td>{formatMessageTime(d.lastBatchAt)}</td>
            <td>{d.messagesReceived.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
