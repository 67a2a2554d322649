import Dexie from 'dexie';
import type { DeaddropDatabase } from '../db/database.js';
import { forgetPosts } from '../db/posts.js';
import { unstoredRequestsKey } from '../db/senderBounds.js';
import { syncSettingKeys } from '../devices/syncOut.js';

/** Removes everything the UI stored for an identity (after the engine deleted its keys). */
export async function forgetIdentityData(db: DeaddropDatabase, identityId: string): Promise<void> {
  const tables = [db.contacts, db.conversations, db.messages, db.seen, db.pendingReceipts, db.textParts, db.settings, db.posts, db.postCopies, db.shares];
  await db.transaction('rw', tables, async () => {
    await db.messages
      .where('[identityId+contactKey+sortAt]')
      .between([identityId, Dexie.minKey, Dexie.minKey], [identityId, Dexie.maxKey, Dexie.maxKey])
      .delete();
    await db.contacts.where('identityId').equals(identityId).delete();
    await db.conversations
      .where('[identityId+lastMessageAt]')
      .between([identityId, Dexie.minKey], [identityId, Dexie.maxKey])
      .delete();
    await db.seen.where('[identityId+dedupeKey]').between([identityId, Dexie.minKey], [identityId, Dexie.maxKey]).delete();
    await db.pendingReceipts
      .where('[identityId+acknowledgeId]')
      .between([identityId, Dexie.minKey], [identityId, Dexie.maxKey])
      .delete();
    await db.textParts
      .where('[identityId+contactKey]')
      .between([identityId, Dexie.minKey], [identityId, Dexie.maxKey])
      .delete();
    await db.settings.delete(unstoredRequestsKey(identityId));
    await db.settings.bulkDelete(syncSettingKeys(identityId));
    await forgetPosts(db, identityId);
    await db.shares.where('identityId').equals(identityId).delete();
  });
}
