import { useEffect } from 'react';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { desktopApi } from './desktopApi.js';

const SAVED = new Set(['accepted', 'verified']);
/** The shell accepts at most this many names (its IPC schema). */
const MAX_NAMES = 10_000;

/**
 * Keeps the desktop shell informed: the unread total for the tray badge, and the names the user
 * gave contacts so notifications use them. Renders nothing; does nothing outside the desktop app.
 */
export function DesktopSync() {
  const desktop = desktopApi();
  const unread = useLiveQuery(
    async () => {
      const [conversations, contacts] = await Promise.all([database().conversations.toArray(), database().contacts.toArray()]);
      const hidden = new Set(contacts.filter((c) => c.status === 'ignored' || c.status === 'blocked').map((c) => `${c.identityId}:${c.publicKey}`));
      return conversations.reduce((sum, c) => sum + (hidden.has(`${c.identityId}:${c.contactKey}`) ? 0 : c.unreadCount), 0);
    },
    [],
    0,
  );
  const names = useLiveQuery(
    async () => {
      const contacts = await database().contacts.toArray();
      const entries = contacts.filter((c) => SAVED.has(c.status)).slice(0, MAX_NAMES).map((c) => [c.publicKey, c.alias.slice(0, 128)]);
      return JSON.stringify(Object.fromEntries(entries));
    },
    [],
    '{}',
  );

  useEffect(() => {
    void desktop?.setUnreadCount({ count: unread });
  }, [desktop, unread]);
  useEffect(() => {
    void desktop?.setContactNames({ names: JSON.parse(names) as Record<string, string> });
  }, [desktop, names]);
  return null;
}
