import { useEffect } from 'react';
import { useUnreadCounts } from '../app/unreadCounts.js';
import { useCapability, useSession } from '../stores/sessionStore.js';

/**
 * Reports the unread total to the desktop shell for the tray badge (where the host has
 * notifications) and in the window title, counted here where the messages and contacts are: ignored
 * and blocked senders never count. Renders nothing.
 */
export function DesktopSync() {
  const bridge = useSession((s) => s.bridge);
  const offered = useCapability('notifications');
  const { total: unread } = useUnreadCounts();

  useEffect(() => {
    if (offered) void bridge?.invoke('unread/set', { count: unread });
  }, [bridge, offered, unread]);
  // The window title says it too (the browser tab, the taskbar).
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Deaddrop` : 'Deaddrop';
  }, [unread]);
  return null;
}
