import Dexie from 'dexie';
import { useEffect, useRef, useState } from 'react';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';

/**
 * Tells screen readers about a message arriving in the open conversation. The message list itself
 * is no live region: it is virtualised, so scrolling back inserts old rows that must not be read
 * out as news. A line about the conversation (a rename, a drop move: kind `event`) is no message
 * from the contact, whoever it is about, and is not announced.
 */
export function NewMessageAnnouncer({ identityId, contactKey, alias }: { identityId: string; contactKey: string; alias: string }) {
  const latest = useLiveQuery(
    async () => {
      const db = database();
      const conversation = await db.conversations.get([identityId, contactKey]);
      if (!conversation) return null;
      const newest = await db.messages
        .where('[identityId+contactKey+sortAt]')
        .between([identityId, contactKey, Dexie.minKey], [identityId, contactKey, Dexie.maxKey])
        .last();
      return { ...conversation, newestIsEvent: newest?.kind === 'event' };
    },
    [identityId, contactKey],
    null,
  );
  const seenAt = useRef<number | null>(null);
  const [announcement, setAnnouncement] = useState('');

  useEffect(() => {
    if (!latest) return;
    // The first answer is what was already there when the chat opened: not news.
    if (seenAt.current !== null && latest.lastMessageAt > seenAt.current && latest.lastMessageDirection === 'in' && !latest.newestIsEvent) {
      setAnnouncement(`New message from ${alias}: ${latest.lastMessagePreview}`);
    }
    seenAt.current = Math.max(seenAt.current ?? 0, latest.lastMessageAt);
  }, [latest, alias]);

  return (
    <p className="visually-hidden" aria-live="polite" data-testid="new-message-announcement">
      {announcement}
    </p>
  );
}
