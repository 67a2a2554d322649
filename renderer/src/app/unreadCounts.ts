import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';

/** Unread messages per identity, counted where the data is: ignored and blocked senders never count. */
export async function unreadByIdentity(): Promise<Map<string, number>> {
  const [conversations, contacts] = await Promise.all([database().conversations.toArray(), database().contacts.toArray()]);
  const hidden = new Set(contacts.filter((c) => c.status === 'ignored' || c.status === 'blocked').map((c) => `${c.identityId}:${c.publicKey}`));
  const counts = new Map<string, number>();
  for (const c of conversations) {
    if (c.unreadCount > 0 && !hidden.has(`${c.identityId}:${c.contactKey}`)) counts.set(c.identityId, (counts.get(c.identityId) ?? 0) + c.unreadCount);
  }
  return counts;
}

const NONE = new Map<string, number>();

/** The live counts; the total is their sum. */
export function useUnreadCounts(): { byIdentity: ReadonlyMap<string, number>; total: number } {
  const byIdentity = useLiveQuery(unreadByIdentity, [], NONE);
  let total = 0;
  for (const n of byIdentity.values()) total += n;
  return { byIdentity, total };
}
