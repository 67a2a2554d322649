import { useEffect } from 'react';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useCapability, useSession } from '../stores/sessionStore.js';

/**
 * Reports the unread total to the desktop shell for the tray badge, counted here where the messages
 * and contacts are: ignored and blocked senders never count. Renders nothing; does nothing where the
 * host has no notifications (the browser).
 */
export function DesktopSync() {
  const bridge = useSession((s) => s.bridge);
  const offered = useCapability('notifications');
  const unread = useLiveQuery(
    async () => {
      const [conversations, contacts] = await Promise.all([database().conversations.toArray(), database().contacts.toArray()]);
      const hidden = new Set(contacts.filter((c) => c.status === 'ignored' || c.status === 'blocked').map((c) => `${c.identityId}:${c.publicKey}`));
      return conversations.reduce((sum, c) => sum + (hidden.has(`${c.identityId}:${c.contactKey}`) ? 0 : c.unreadCount), 0);
    },
    [],
    0,
  );

  useEffect(() => {
    if (offered) void bridge?.invoke('unread/set', { count: unread });
  }, [bridge, offered, unread]);
  return null;
}
