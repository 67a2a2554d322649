import Dexie from 'dexie';
import { useEffect } from 'react';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { watchFileProgress } from '../files/transfers.js';
import { useSession } from '../stores/sessionStore.js';
import { fetchShareListings, resumeShares, settleShareReceipts, watchShareSends } from './shares.js';

/**
 * Keeps the active identity's shares moving whichever view is open: a received share's listing is
 * fetched as soon as its announcement is stored, the progress of our announcements is followed (and
 * those the engine never took handed to it when it is back), and receipts mark them delivered.
 * Renders nothing.
 */
export function ShareSync({ identityId }: { identityId: string }) {
  const db = database();
  const bridge = useSession((s) => s.bridge);
  const connection = useSession((s) => s.connection);
  // Changes when a share or a waiting receipt of the identity does: that is when there is work.
  const stamp = useLiveQuery(
    async () => {
      const shares = await db.shares.where('identityId').equals(identityId).toArray();
      const receipts = await db.pendingReceipts
        .where('[identityId+senderKey]')
        .between([identityId, Dexie.minKey], [identityId, Dexie.maxKey])
        .count();
      return `${shares.map((s) => `${s.id}:${s.revision}:${s.listingRevision}`).join(' ')}|${receipts}`;
    },
    [identityId],
    '',
  );

  useEffect(() => {
    if (!bridge) return;
    watchShareSends(bridge, db);
    watchFileProgress(bridge, db);
  }, [bridge, db]);

  // What the engine never took goes to it once it is there (again).
  useEffect(() => {
    if (!bridge || connection !== 'open') return;
    void resumeShares(bridge, db, identityId).catch(() => undefined);
  }, [bridge, db, identityId, connection]);

  useEffect(() => {
    if (!bridge || stamp === '' || stamp.startsWith('|')) return;
    void fetchShareListings(bridge, db, identityId).catch(() => undefined);
    void settleShareReceipts(db, identityId).catch(() => undefined);
  }, [bridge, db, identityId, stamp]);

  return null;
}
