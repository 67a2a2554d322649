import { useState } from 'react';
import { serverOfDrop, sameServer } from '../settings/dropUrls.js';
import { describeServerProblem, serverName } from '../settings/serverProblem.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';

/**
 * Says so when a drop server of the active identity cannot be reached, why in words, and offers to
 * try again now. Messages to the user wait on the server meanwhile; nothing is lost.
 */
export function ServerBanner() {
  const identity = useActiveIdentity();
  const servers = useSession((s) => s.serverStatus);
  const bridge = useSession((s) => s.bridge);
  const [retrying, setRetrying] = useState(false);
  if (!identity) return null;
  const mine = identity.dropUrls.map(serverOfDrop);
  const down = servers.filter((s) => s.reachable === false && mine.some((url) => sameServer(url, s.serverUrl)));
  if (down.length === 0) return null;

  const retry = async () => {
    setRetrying(true);
    await bridge?.invoke('poller/pollNow', {});
    const status = await bridge?.invoke('servers/status', {});
    if (status?.ok) useSession.getState().setServerStatus(status.value);
    setRetrying(false);
  };

  return (
    <div className="banner warning" role="status" data-testid="server-banner">
      {down.map((s) => (
        <p key={s.serverUrl} title={s.lastError ?? undefined}>
          Cannot reach your drop server {serverName(s.serverUrl)}: {describeServerProblem(s.lastError)}. Messages sent to you wait there
          until it is reachable again.
        </p>
      ))}
      <button type="button" onClick={() => void retry()} disabled={retrying}>
        {retrying ? 'Trying…' : 'Retry now'}
      </button>
    </div>
  );
}
