import { useSession } from '../stores/sessionStore.js';

/** Says so when the engine is away; typed messages stay queued meanwhile. */
export function ConnectionBanner() {
  const connection = useSession((s) => s.connection);
  if (connection === 'open') return null;
  return (
    <div className="banner" role="status" data-testid="connection-banner">
      Reconnecting to the engine… Messages you write now are kept and sent when it is back.
    </div>
  );
}
