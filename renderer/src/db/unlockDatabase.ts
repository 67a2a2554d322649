/**
 * Opening the sealed database after the engine is unlocked: the key from the engine, records of
 * older versions sealed, and the search index built in the background.
 */
import { createLogger } from '../../../shared/log.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from './database.js';
import { clearSearchIndex, ensureSearchIndex } from './messageSearch.js';
import { clearDatabaseKey, isLegacyRecord, setDatabaseKey } from './sealing.js';

const log = createLogger('database');
/** The search index is read after the first screens had their turn at the database. */
const INDEX_START_DELAY_MS = 1500;

/** Seals contacts and conversations stored before sealing existed (messages: the search index's pass). */
export async function sealLegacyRecords(db: DeaddropDatabase): Promise<void> {
  await db.transaction('rw', db.contacts, db.conversations, async () => {
    const contacts = (await db.contacts.toArray()).filter(isLegacyRecord);
    if (contacts.length > 0) await db.contacts.bulkPut(contacts);
    const conversations = (await db.conversations.toArray()).filter(isLegacyRecord);
    if (conversations.length > 0) await db.conversations.bulkPut(conversations);
  });
}

/**
 * Fetches the key and installs it; the search index then builds in the background.
 * @throws Error when the engine does not give the key (it is locked, or gone)
 */
export async function unlockDatabase(bridge: EngineBridge, db: DeaddropDatabase): Promise<void> {
  const answer = await bridge.invoke('app/databaseKey', {});
  if (!answer.ok) throw new Error(`The message database cannot be opened: ${answer.error.message}`);
  await setDatabaseKey(answer.value.key);
  await sealLegacyRecords(db);
  // Reading every message for the search index competes with the first screens for the database:
  // it starts once they have had their turn.
  setTimeout(() => {
    ensureSearchIndex(db).catch((error: unknown) => log.warn('the search index could not be built', { reason: String(error) }));
  }, INDEX_START_DELAY_MS);
}


/** Forgets the key and everything read with it. */
export function lockDatabase(): void {
  clearDatabaseKey();
  clearSearchIndex();
}
